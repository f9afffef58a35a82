"""The compiled path (the dense path with each layer's edge stage through ``torch.compile``) equals the
edge-list reference in float64: outputs and gradients, on batches of different sizes (the stage is
compiled with symbolic sizes; a new size may recompile once), with and without autograd.

The compiled stage holds every [G, n, n, .] operation of a layer except the messages, so it is the same
code for Cartesian (L = 1) and Gaunt messages; tests/nn/test_dense.py covers the messages on every
configuration. Compiling costs tens of seconds on a CPU, so this file compiles one tiny Gaunt model.
"""

from __future__ import annotations

import pytest
import torch

from molgen.config.schema import ModelConfig
from molgen.nn.denoiser import EQGATDenoiser
from molgen.nn.eqgat import compiled_pair_stage, pair_stage
from tests.nn.test_denoiser import TINY, random_batch
from tests.nn.test_dense import assert_paths_equal


@pytest.fixture(scope="module")
def models() -> tuple[EQGATDenoiser, EQGATDenoiser]:
    torch.manual_seed(0)
    compiled = EQGATDenoiser(ModelConfig(**{**TINY, "lmax": 2}), path="compiled").double()
    reference = EQGATDenoiser(ModelConfig(**{**TINY, "lmax": 2}), path="reference").double()
    reference.load_state_dict(compiled.state_dict())
    return compiled, reference


def test_compiled_path_equals_reference(models) -> None:
    compiled, reference = models
    assert compiled.path == "compiled"
    for sizes in ((5, 7, 4), (1, 9, 2, 3)):
        assert_paths_equal(compiled, reference, random_batch(sizes, seed=sum(sizes)))


def test_compiled_path_equals_reference_without_grad(models) -> None:
    """Sampling calls the denoiser under ``no_grad``: a second compiled graph, the same numbers."""
    compiled, reference = models
    batch = random_batch((6, 3, 8), seed=1)
    t = torch.linspace(0.1, 0.9, batch.num_graphs, dtype=torch.float64)
    with torch.no_grad():
        out_c, out_r = compiled(batch, t), reference(batch, t)
    for name in ("pos", "atom_logits", "charge_logits", "bond_logits"):
        torch.testing.assert_close(getattr(out_c, name), getattr(out_r, name), atol=1e-10, rtol=0, msg=name)


def test_compiled_stage_is_a_compiled_pair_stage() -> None:
    """The fast path is the eager stage compiled, built once (not a second implementation that could drift)."""
    stage = compiled_pair_stage()
    assert stage is compiled_pair_stage()
    assert getattr(stage, "_torchdynamo_orig_callable", None) is pair_stage


def test_unknown_path_is_refused() -> None:
    model = EQGATDenoiser(ModelConfig(**TINY))
    with pytest.raises(ValueError, match="dense, compiled, reference"):
        model.set_path("fast")


def test_training_takes_its_path_from_the_config() -> None:
    """``trainer.path`` reaches the trained network (and its EMA copy); sampling builds its own, dense."""
    from molgen.config.load import apply_overrides, config_to_dict
    from molgen.config.schema import ExperimentConfig
    from molgen.training.module import DiffusionModule
    from tests.diffusion.standin import toy_marginals

    for path in ("compiled", "reference"):
        config = apply_overrides(ExperimentConfig(), ["model.num_layers=1", "model.scalar_dim=8", "model.vector_dim=4",
                                                      "model.edge_dim=4", f"trainer.path={path}"])
        module = DiffusionModule(config_to_dict(config), toy_marginals().to_dict())
        assert module.denoiser.path == path
        assert module.ema.module.path == path
