"""Test helpers shared by every equivariant layer: :func:`assert_equivariant`.

Usage (float64 throughout; every floating input must already be float64, and so must the module)::

    import torch
    from molgen.nn.gaunt_conv import GauntConv
    from molgen.testing import assert_equivariant

    conv = GauntConv(lmax_in=2, lmax_filter=2, lmax_out=2, channels=4).double()
    pos, x = torch.randn(6, 3, dtype=torch.float64), torch.randn(6, 4, 9, dtype=torch.float64)  # [N, 3], [N, C, 9]
    edge_index = torch.tensor([[0, 1, 2, 3, 4, 5], [1, 2, 3, 4, 5, 0]])  # [2, E]
    weights = torch.randn(6, 4, 3, dtype=torch.float64)  # [E, C, Lf + 1]

    def layer(pos, x, edge_index, weights):
        vec = pos[edge_index[1]] - pos[edge_index[0]]  # [E, 3]
        return conv(x, vec, weights, edge_index[0], edge_index[1], num_nodes=pos.shape[0])

    assert_equivariant(layer, [("pos", pos), ("irreps", x), ("edge_index", edge_index), ("edge_scalar", weights)],
                       outputs=["irreps:2"])

Kinds (first dim N = atoms, E = edges):

* ``"pos"``       [N, 3]: rotated, translated, permuted (as an output: expected translated too).
* ``"vec"``       [N, ..., 3]: Cartesian vectors (forces, noise, displacements): rotated, permuted.
* ``"irreps"`` / ``"irreps:L"`` [N, C, (L+1)^2]: rotated with the Wigner-D of :mod:`molgen.nn.so3`, permuted.
* ``"scalar"``    [N, ...]: invariant, permuted.
* ``"batch"``     [N] graph index of each atom: permuted (atoms are only shuffled within their graph,
  so a sorted ``batch`` and the ``ptr`` of a MolBatch stay valid).
* ``"edge_index"`` [2, E] long: atom indices relabelled under a permutation (edge order kept).
* ``"edge_scalar"`` [E, ...] invariant; ``"edge_vec"`` [E, ..., 3] rotated; ``"edge_irreps"`` [E, C, K] rotated.
* ``"global"``    anything else (time steps, per-graph values, ptr): passed unchanged, expected unchanged.

A sampling step is checked the same way as long as it is deterministic given its inputs: draw the
noise outside and pass it as a ``"vec"`` input (positions noise) or ``"scalar"`` input (type noise).
Functions of a MolBatch are wrapped in a lambda that rebuilds it from the tensors.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from molgen.nn.so3 import angles_to_matrix, rand_angles, wigner_D

NODE_KINDS = ("pos", "vec", "irreps", "scalar", "batch")
EDGE_KINDS = ("edge_scalar", "edge_vec", "edge_irreps")
CHECKS = ("rotation", "translation", "permutation")


def _base(kind: str) -> str:
    base = kind.split(":")[0]
    if base not in (*NODE_KINDS, *EDGE_KINDS, "edge_index", "global"):
        raise ValueError(f"unknown kind {kind!r}; expected one of {NODE_KINDS + EDGE_KINDS + ('edge_index', 'global')}")
    return base


def _rotate(kind: str, t: Tensor, rot: Tensor, angles: tuple[Tensor, ...]) -> Tensor:
    base = _base(kind)
    if base in ("pos", "vec", "edge_vec"):
        return t @ rot.T
    if base in ("irreps", "edge_irreps"):
        lmax = math.isqrt(t.shape[-1]) - 1
        if ":" in kind and int(kind.split(":")[1]) != lmax:
            raise ValueError(f"kind {kind!r} does not match last dim {t.shape[-1]}")
        return t @ wigner_D(lmax, *angles).to(t).T
    return t


def _permute(kind: str, t: Tensor, perm: Tensor, inverse: Tensor) -> Tensor:
    base = _base(kind)
    if base in NODE_KINDS:
        return t[perm]
    if base == "edge_index":
        return inverse[t]
    return t


def _transform(kinds: Sequence[str], tensors: Sequence[Tensor], check: str, params: dict) -> list[Tensor]:
    out = []
    for kind, t in zip(kinds, tensors, strict=True):
        if check == "rotation":
            t = _rotate(kind, t, params["rot"], params["angles"])
        elif check == "translation" and _base(kind) == "pos":
            t = t + params["shift"]
        elif check == "permutation":
            t = _permute(kind, t, params["perm"], params["inverse"])
        out.append(t)
    return out


def _call(fn: Callable, args: Sequence[Tensor], n_out: int) -> list[Tensor]:
    result = fn(*args)
    result = [result] if isinstance(result, Tensor) else list(result)
    if len(result) != n_out:
        raise ValueError(f"fn returned {len(result)} outputs but {n_out} output kinds were declared")
    return result


def _node_permutation(inputs: Sequence[tuple[str, Tensor]], gen: torch.Generator) -> tuple[Tensor, Tensor]:
    sizes = {t.shape[0] for kind, t in inputs if _base(kind) in NODE_KINDS}
    if len(sizes) != 1:
        raise ValueError(f"node inputs must share their first dim N, got sizes {sorted(sizes)}")
    n = sizes.pop()
    batch = [t for kind, t in inputs if _base(kind) == "batch"]
    key = torch.rand(n, generator=gen, dtype=torch.float64)
    if batch:
        key = key + batch[0].to(torch.float64).cpu() * 2.0  # shuffle only within graphs
    perm = torch.argsort(key)
    inverse = torch.empty_like(perm)
    inverse[perm] = torch.arange(n)
    device = inputs[0][1].device
    return perm.to(device), inverse.to(device)


def assert_equivariant(
    fn: Callable[..., Tensor | Sequence[Tensor]],
    inputs: Sequence[tuple[str, Tensor]],
    outputs: Sequence[str],
    *,
    checks: Sequence[str] = CHECKS,
    atol: float = 1e-10,
    seed: int = 0,
) -> dict[str, float]:
    """Check ``fn(*tensors)`` for rotation, translation and atom-permutation equivariance in float64.

    Args:
        fn: called positionally with the input tensors; returns a tensor or a sequence of tensors.
        inputs: ``(kind, tensor)`` pairs (kinds in the module docstring).
        outputs: the kind of each output.
        checks: subset of ``("rotation", "translation", "permutation")``.
        atol: largest allowed absolute deviation ``|fn(g x) - g fn(x)|``.
        seed: seeds the random rotation (Euler angles -> Wigner-D), translation and permutation.

    Returns:
        ``{check: max abs error}``. Raises AssertionError naming the check, output and error.
    """
    for kind, t in inputs:
        _base(kind)
        if t.is_floating_point() and t.dtype != torch.float64:
            raise ValueError(f"equivariance is tested in float64; input of kind {kind!r} is {t.dtype}")
    for kind in outputs:
        _base(kind)
    gen = torch.Generator().manual_seed(seed)
    kinds = [k for k, _ in inputs]
    tensors = [t for _, t in inputs]
    device = tensors[0].device
    angles = tuple(a.to(device) for a in rand_angles(torch.float64, gen))
    perm, inverse = _node_permutation(inputs, gen)
    params = {
        "angles": angles,
        "rot": angles_to_matrix(*angles),
        "shift": (torch.randn(3, generator=gen, dtype=torch.float64) * 3.0).to(device),
        "perm": perm,
        "inverse": inverse,
    }
    reference = _call(fn, tensors, len(outputs))
    errors = {}
    for check in checks:
        if check not in CHECKS:
            raise ValueError(f"unknown check {check!r}; expected a subset of {CHECKS}")
        got = _call(fn, _transform(kinds, tensors, check, params), len(outputs))
        expected = _transform(outputs, reference, check, params)
        for i, (g, e) in enumerate(zip(got, expected, strict=True)):
            if g.shape != e.shape:
                raise AssertionError(f"{check}: output {i} changed shape {tuple(e.shape)} -> {tuple(g.shape)}")
        errs = [(g - e).abs().max().item() if g.numel() else 0.0 for g, e in zip(got, expected, strict=True)]
        errors[check] = max(errs, default=0.0)
        worst = max(range(len(errs)), key=errs.__getitem__, default=None)
        if worst is not None and errs[worst] > atol:
            raise AssertionError(
                f"{check} equivariance violated: output {worst} (kind {outputs[worst]!r}) "
                f"max abs error {errs[worst]:.3e} > atol {atol:.1e}"
            )
    return errors
