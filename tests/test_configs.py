"""Every shipped config loads, type-checks and builds its denoiser and diffusion; bad input names the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from molgen.config.load import ConfigError, config_from_dict, config_to_dict, load_config
from molgen.diffusion.marginals import Marginals
from molgen.training.module import build_denoiser, build_diffusion

CONFIGS = sorted((Path(__file__).resolve().parents[1] / "configs").glob("*.yaml"))


def _marginals() -> Marginals:
    return Marginals(atom_types=torch.ones(16), charges=torch.ones(6), bonds=torch.ones(5),
                     num_atoms=torch.ones(10),
                     extras={"is_aromatic": torch.ones(2), "is_in_ring": torch.ones(2), "hybridization": torch.ones(7)})


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_every_shipped_config_builds(path: Path) -> None:
    config = load_config(path)
    model = build_denoiser(config)
    diffusion = build_diffusion(config, _marginals())
    assert diffusion.num_steps == config.diffusion.num_steps
    assert sum(p.numel() for p in model.parameters()) > 0
    assert config_from_dict(config_to_dict(config)) == config
    assert set(diffusion.extras) == ({"is_aromatic", "is_in_ring", "hybridization"}
                                     if config.model.extra_atom_features else set())


def test_shipped_configs_include_paper_qm9_settings() -> None:
    assert {p.stem for p in CONFIGS} >= {"qm9", "debug", "demo"}
    qm9 = load_config(CONFIGS[[p.stem for p in CONFIGS].index("qm9")])
    m, d = qm9.model, qm9.diffusion
    assert (m.num_layers, m.scalar_dim, m.vector_dim, m.edge_dim) == (12, 256, 256, 128)
    assert (d.num_steps, d.nu_coords, d.nu_atoms, d.nu_bonds) == (500, 2.5, 1.0, 1.5)
    assert (d.weight_coords, d.weight_atom_types, d.weight_charges, d.weight_bonds) == (3.0, 0.4, 1.0, 2.0)


def test_dotted_overrides_are_typed() -> None:
    config = load_config(None, ["optim.lr=1e-4", "model.cutoff=5", "batching.boundaries=[10, 20]",
                                "sample_eval.steps=null", "trainer.devices=2"])
    assert config.optim.lr == 1e-4 and isinstance(config.optim.lr, float)
    assert config.model.cutoff == 5.0 and config.batching.boundaries == [10, 20]
    assert config.sample_eval.steps is None and config.trainer.devices == 2


@pytest.mark.parametrize(("override", "message"), [
    ("optim.lrr=1", "unknown key 'optim.lrr'"),
    ("optim.lr=fast", "optim.lr: expected float, got 'fast'"),
    ("trainer.devices=two", "trainer.devices: expected int"),
    ("nosection.x=1", "unknown"),
    ("optim.lr", "expected key.sub=value"),
    ("model.num_layers=true", "model.num_layers: expected int, got True"),
])
def test_bad_overrides_name_the_key(override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_config(None, [override])


def test_bad_file_names_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  num_layer: 3\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown key 'model.num_layer'"):
        load_config(bad)
    bad.write_text("model: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"bad.yaml: model: expected a mapping"):
        load_config(bad)
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "missing.yaml")


def test_invalid_model_combinations_are_rejected_when_loaded(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"model.tensor_product: must be null when model.lmax is 1"):
        load_config(CONFIGS[0], ["model.lmax=1", "model.tensor_product=gaunt"])
    assert load_config(CONFIGS[0], ["model.lmax=2", "model.tensor_product=e3nn"]).model.tensor_product == "e3nn"
    with pytest.raises(ConfigError, match=r"model.extra_atom_features: must be 0 or 11"):
        load_config(CONFIGS[0], ["model.extra_atom_features=3"])


def test_extra_features_without_their_statistics_are_a_clear_error() -> None:
    config = load_config(CONFIGS[0], ["model.extra_atom_features=11"])
    lacking = Marginals(atom_types=torch.ones(16), charges=torch.ones(6), bonds=torch.ones(5), num_atoms=torch.ones(4))
    with pytest.raises(ValueError, match="model.extra_atom_features needs the 'is_aromatic' statistics"):
        build_diffusion(config, lacking)


@pytest.mark.parametrize("override", ["batching.mode=dynamic", "logging.wandb_mode=cloud"])
def test_text_options_outside_their_choices_are_rejected_when_loaded(override: str) -> None:
    with pytest.raises(ConfigError, match=override.split("=")[0] + ": must be"):
        load_config(CONFIGS[0], [override])
