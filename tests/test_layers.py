"""Layers point down only (DEVELOPERS.md): what importing and running one layer loads, checked in a fresh process.

Training needs neither RDKit nor docking: importing the training entry point and its data module, and a
training step of the Lightning module (through a real Trainer), load neither ``rdkit`` nor ``molgen.dock``,
nor anything of ``molgen.generate`` or ``molgen.eval``;
``molgen.dock`` does not import ``molgen.eval``; plain sampling from a checkpoint needs no RDKit.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

TRAIN = """
import json, sys
sys.path.insert(0, {standin!r})
import lightning as L
import torch
from standin import toy_marginals, toy_molecules
from molgen.chem.molgraph import MolBatch
from molgen.config.load import apply_overrides, config_to_dict
from molgen.config.schema import ExperimentConfig
from molgen.training.module import DiffusionModule
import molgen.training.datamodule, molgen.training.train  # noqa: F401  (what `molgen train` imports)

config = apply_overrides(ExperimentConfig(), ["model.num_layers=1", "model.scalar_dim=8", "model.vector_dim=4",
                                              "model.edge_dim=4", "diffusion.num_steps=20"])
module = DiffusionModule(config_to_dict(config), toy_marginals().to_dict())
graphs = toy_molecules(torch.float32)
loader = torch.utils.data.DataLoader([graphs], batch_size=None, collate_fn=MolBatch.from_graphs)
trainer = L.Trainer(max_steps=2, logger=False, enable_checkpointing=False, enable_progress_bar=False,
                    enable_model_summary=False, accelerator="cpu")
trainer.fit(module, loader)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "rdkit" or m.startswith(
    ("molgen.dock", "molgen.generate", "molgen.eval")))
print(json.dumps({{"steps": trainer.global_step, "loaded": loaded}}))
"""


def run(code: str) -> dict:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_training_loads_neither_rdkit_nor_docking_nor_generation():
    result = run(TRAIN.format(standin=str(ROOT / "tests" / "diffusion")))
    assert result["steps"] == 2, result
    assert result["loaded"] == [], f"training imported {result['loaded']}"


def test_docking_does_not_import_evaluation():
    code = ("import json, sys, molgen.dock, molgen.dock.batch; "
            "print(json.dumps({'loaded': sorted(m for m in sys.modules if m.startswith('molgen.eval'))}))")
    assert run(code)["loaded"] == []


def test_plain_sampling_runs_without_rdkit():
    """RDKit made unimportable: a shipped heavy-atom model samples graphs (no hydrogens added), as on the GPU."""
    code = f"""
import json, sys
sys.modules["rdkit"] = None
from molgen.generate import SampleOptions, load
graphs = load({str(ROOT / "checkpoints" / "qm9_noh_gaunt_cpu.ckpt")!r}).sample(
    SampleOptions(num=3, steps=4, batch_size=2, hydrogens=False))
print(json.dumps({{"names": [g.name for g in graphs], "sizes": [g.num_atoms for g in graphs]}}))
"""
    result = run(code)
    assert result["names"] == ["sample_0", "sample_1", "sample_2"] and min(result["sizes"]) >= 1, result


def test_the_version_is_written_once():
    """``molgen.__version__`` and the evaluation report read the installed package's metadata (pyproject)."""
    import re
    from importlib.metadata import version

    import molgen

    pyproject = (ROOT / "pyproject.toml").read_text()
    assert molgen.__version__ == version("molgen") == re.search(r'^version = "(.+)"', pyproject, re.M).group(1)
    for path in (ROOT / "molgen").rglob("*.py"):
        assert not re.search(r"^__version__\s*=", path.read_text(), re.M), f"{path} writes a version"
