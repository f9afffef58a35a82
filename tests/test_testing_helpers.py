"""molgen.testing.assert_equivariant: passes equivariant functions, catches each kind of violation."""

from __future__ import annotations

import pytest
import torch

from molgen.nn.so3 import spherical_harmonics
from molgen.testing import assert_equivariant

F64 = torch.float64


def _graph(seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    pos = torch.randn(7, 3, generator=gen, dtype=F64)
    h = torch.randn(7, 4, generator=gen, dtype=F64)
    vec = torch.randn(7, 2, 3, generator=gen, dtype=F64)
    batch = torch.tensor([0, 0, 0, 1, 1, 1, 1])
    src = torch.tensor([0, 1, 2, 1, 3, 4, 5, 6, 4])
    dst = torch.tensor([1, 0, 1, 2, 4, 3, 6, 5, 6])
    return pos, h, vec, batch, torch.stack([src, dst])


def _model(pos, h, vec, batch, edge_index):
    """A small but genuinely E(3)-equivariant function of every input kind."""
    rel = pos[edge_index[1]] - pos[edge_index[0]]  # [E, 3]
    dist = rel.norm(dim=-1, keepdim=True)  # [E, 1]
    msg = torch.zeros_like(h).index_add_(0, edge_index[1], h[edge_index[0]] * torch.exp(-dist))
    sizes = torch.bincount(batch).to(F64)
    center = torch.zeros(2, 3, dtype=F64).index_add_(0, batch, pos) / sizes[:, None]
    new_pos = pos + (pos - center[batch]) * msg[:, :1] + vec[:, 0] * h[:, 1:2]
    sh_msg = spherical_harmonics(3, rel) * msg[edge_index[0], :1]  # [E, 16]
    sh = torch.zeros(7, 16, dtype=F64).index_add_(0, edge_index[1], sh_msg)
    new_vec = vec * (h[:, None, :2].sum(-1, keepdim=True)) + torch.linalg.cross(vec[:, :1], vec[:, 1:], dim=-1)
    return new_pos, msg, new_vec, sh[:, None, :], dist


INPUT_KINDS = ("pos", "scalar", "vec", "batch", "edge_index")
OUTPUT_KINDS = ["pos", "scalar", "vec", "irreps:3", "edge_scalar"]


def test_equivariant_function_passes_all_checks():
    errs = assert_equivariant(_model, list(zip(INPUT_KINDS, _graph(), strict=True)), OUTPUT_KINDS)
    assert set(errs) == {"rotation", "translation", "permutation"}
    assert max(errs.values()) < 1e-12


def test_rotation_violation_is_reported():
    def biased(pos, h, vec, batch, edge_index):
        return pos + torch.tensor([0.5, 0.0, 0.0], dtype=F64)  # a fixed direction breaks rotations only

    with pytest.raises(AssertionError, match=r"rotation equivariance violated: output 0 \(kind 'pos'\)"):
        assert_equivariant(biased, list(zip(INPUT_KINDS, _graph(), strict=True)), ["pos"])
    errs = assert_equivariant(
        biased, list(zip(INPUT_KINDS, _graph(), strict=True)), ["pos"], checks=("translation", "permutation")
    )
    assert max(errs.values()) < 1e-12


def test_translation_violation_is_reported():
    def scaled(pos, h, vec, batch, edge_index):
        return 2.0 * pos

    with pytest.raises(AssertionError, match="translation equivariance violated"):
        assert_equivariant(scaled, list(zip(INPUT_KINDS, _graph(), strict=True)), ["pos"])


def test_permutation_violation_is_reported():
    def order_dependent(pos, h, vec, batch, edge_index):
        return torch.cumsum(h, dim=0)

    with pytest.raises(AssertionError, match="permutation equivariance violated"):
        assert_equivariant(order_dependent, list(zip(INPUT_KINDS, _graph(), strict=True)), ["scalar"])


def test_irreps_mixing_degrees_is_caught():
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(5, 2, 9, generator=gen, dtype=F64)
    mix = torch.eye(9, dtype=F64)
    mix[4, 1] = 0.3  # leaks an l = 1 component into l = 2

    with pytest.raises(AssertionError, match="rotation"):
        assert_equivariant(lambda a: a @ mix.T, [("irreps", x)], ["irreps"], checks=("rotation",))
    scale = torch.tensor([2.0, -1.0, -1.0, -1.0, 0.5, 0.5, 0.5, 0.5, 0.5], dtype=F64)  # per-degree: fine
    assert assert_equivariant(lambda a: a * scale, [("irreps:2", x)], ["irreps:2"])["rotation"] < 1e-12


def test_permutation_keeps_graphs_contiguous():
    def needs_sorted_batch(pos, h, vec, batch, edge_index):
        if not torch.all(batch[1:] >= batch[:-1]):
            raise RuntimeError("batch must stay sorted")
        return h

    assert_equivariant(needs_sorted_batch, list(zip(INPUT_KINDS, _graph(), strict=True)), ["scalar"])


def test_input_validation():
    pos, h, *_ = _graph()
    with pytest.raises(ValueError, match="float64"):
        assert_equivariant(lambda p: p, [("pos", pos.float())], ["pos"])
    with pytest.raises(ValueError, match="unknown kind 'vector'"):
        assert_equivariant(lambda p: p, [("vector", pos)], ["pos"])
    with pytest.raises(ValueError, match="returned 1 outputs but 2"):
        assert_equivariant(lambda p: p, [("pos", pos)], ["pos", "pos"])
    with pytest.raises(ValueError, match="share their first dim"):
        assert_equivariant(lambda p, s: p, [("pos", pos), ("scalar", h[:3])], ["pos"])
    with pytest.raises(ValueError, match="does not match last dim"):
        assert_equivariant(lambda v: v, [("irreps:1", torch.zeros(3, 2, 9, dtype=F64))], ["irreps"])


def test_module_docstring_example_runs():
    """The usage example in molgen/testing.py names real APIs and passes."""
    import textwrap

    import molgen.testing

    doc = molgen.testing.__doc__
    example = doc[doc.index("::\n") + 3:doc.index("\nKinds")]
    exec(compile(textwrap.dedent(example), "molgen/testing.py docstring", "exec"), {})
