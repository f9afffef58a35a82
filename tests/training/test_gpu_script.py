"""scripts/gpu_train.sh (-> gpu_train.py run) on CPU as it runs on the device; scripts/export_train_subset.py.

The device image has no RDKit: the run is started through the real shell script with RDKit hidden
(``sitecustomize`` puts ``None`` in ``sys.modules['rdkit']``), a tiny model, a few steps and a tiny exported
subset of the processed heavy-atom QM9 (``data/processed/qm9_noh``) or, without it, of a custom dataset made
from ``../shared/data/qm9/gdb9_first100/gdb9.sdf``. ``finish`` then runs here, with RDKit.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

ROOT = Path(__file__).resolve().parents[2]
GDB9 = ROOT.parent / "shared" / "data" / "qm9" / "gdb9_first100" / "gdb9.sdf"
LIMIT = 48


def script(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_script_{name}", ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> tuple[Path, str]:
    """(data root, name) of a processed heavy-atom dataset to export from."""
    if (ROOT / "data" / "processed" / "qm9_noh" / "train" / "meta.json").is_file():
        return ROOT / "data", "qm9_noh"
    if GDB9.is_file():
        from molgen.data.custom import build_custom

        root = tmp_path_factory.mktemp("custom")
        build_custom(GDB9, "gdb9_noh", root, remove_hs=True, progress=False, log=None)
        return root, "gdb9_noh"
    pytest.skip("neither data/processed/qm9_noh (molgen data qm9 --remove-hs) nor "
                f"{GDB9} (the shared dataset samples, DEVELOPERS.md) is here")


@pytest.fixture(scope="module")
def tiny(source, tmp_path_factory) -> tuple[Path, dict]:
    """(data root, export.json) of a tiny export named ``tiny``."""
    root = tmp_path_factory.mktemp("gpu_data")
    info = script("export_train_subset").export_train_subset(source[0], source[1], "tiny", limit=LIMIT,
                                                              out_root=root)
    return root, info


def test_export_is_a_processed_dataset_of_the_picked_molecules_with_their_statistics(source, tiny):
    from molgen.data.stats import compute_statistics
    from molgen.data.store import MolStore
    from molgen.data.template import ProcessedDataset

    export = script("export_train_subset")
    root, info = tiny
    src = ProcessedDataset(*source, "train")
    copy = ProcessedDataset(root, "tiny", "train")
    count = min(LIMIT, len(src))
    assert info["molecules"] == len(copy) == count, f"exported {len(copy)}, expected {count}"
    picked = export.pick_indices(len(src), LIMIT, "random", 0).tolist()
    for k in (0, count - 1):
        a, b = copy[k], src[picked[k]]
        assert torch.equal(a.pos, b.pos) and torch.equal(a.atom_types, b.atom_types), f"molecule {k} differs"
        assert torch.equal(a.bond_index, b.bond_index) and a.smiles == b.smiles, f"molecule {k} differs"
        assert a.props == {}, f"props kept: {a.props}"
    stats = copy.statistics
    assert stats == compute_statistics(MolStore(root / "processed" / "tiny" / "train")), "statistics differ"
    assert stats.num_molecules == count and stats.num_atoms == sum(copy[i].num_atoms for i in range(count))
    with pytest.raises(FileExistsError):
        export.export_train_subset(*source, "tiny", limit=4, out_root=root)
    with pytest.raises(ValueError, match="max-mb"):
        export.export_train_subset(*source, "too_big", limit=4, out_root=root, max_mb=1e-6)
    assert not (root / "processed" / "too_big").exists() and not list((root / "processed").glob(".too_big*"))


def test_gpu_train_sh_runs_without_rdkit_and_finish_writes_the_samples(tiny, tmp_path):
    import molgen.generate

    root, _ = tiny
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['rdkit'] = None  # as on the device\n")
    out, run_dir = tmp_path / "out", tmp_path / "run"
    env = {**os.environ, "OUT": str(out), "GPU_DATA_ROOT": str(root), "GPU_DATA": "tiny", "BUDGET_MINUTES": "3",
           "PYTHON": sys.executable, "PYTHONPATH": str(hide), "OMP_NUM_THREADS": "1"}
    args = ["--run-dir", str(run_dir), "--timing-steps", "2", "--warmup", "1", "--num-samples", "6",
            "--sample-steps", "5", "--sample-batch", "4", "--snapshot-minutes", "0.0001", "--workers", "1",
            "model.num_layers=1", "model.scalar_dim=16", "model.vector_dim=8", "model.edge_dim=4",
            "batching.batch_size=8", "optim.max_steps=4", "trainer.log_every=1", "optim.lr=5e-4"]
    done = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_train.sh"), *args], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"gpu_train.sh exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"

    report = json.loads((out / "gpu_train.json").read_text())
    assert report["versions"]["rdkit"].startswith("absent"), f"RDKit was not hidden: {report['versions']}"
    timings = report["step_timings"]
    for arm in ("L1", "L2_gaunt", "L2_e3nn"):
        assert timings["params"][arm] > 0, f"params of {arm}: {timings['params'][arm]}"
        assert timings["fp32"][arm]["step_ms"] > 0, f"fp32 {arm}: {timings['fp32'][arm]}"
    for arm in ("L1", "L2_e3nn"):
        assert timings["bf16"][arm]["step_ms"] > 0, f"bf16 {arm}: {timings['bf16'][arm]}"
    gaunt_bf16 = timings["bf16"]["L2_gaunt"]
    expected = "32-true" if "error" in gaunt_bf16 else "bf16-mixed"
    assert report["training_config"]["precision"] == expected, f"{report['training_config']} after {gaunt_bf16}"
    assert ("precision_fallback" in report) == ("error" in gaunt_bf16), report.get("precision_fallback")
    assert report["training_config"]["lr"] == 5e-4, f"override not applied: {report['training_config']}"
    training = report["training"]
    assert training["steps"] == 4, f"trained {training['steps']} steps, expected 4"
    for key in ("steps_per_s", "molecules_per_s", "seconds", "params"):
        assert training[key] > 0, f"training {key}: {training[key]}"
    assert report["loader"]["workers"] == 1 and report["loader"]["molecules_per_s"] > 0, report["loader"]
    assert report["training_config"]["num_workers"] == 1, report["training_config"]
    sampling = report["sampling"]
    assert sampling["molecules"] == 6 and sampling["molecules_per_s"] > 0, f"sampling: {sampling}"

    files = sorted(p.name for p in out.iterdir())
    assert len(files) <= 8 and all(re.fullmatch(r"[A-Za-z0-9._-]+", f) for f in files), f"$OUT holds {files}"
    assert {"gpu_train.json", "gpu_train.log", "last.ckpt", "metrics.csv", "samples.npz"} <= set(files), files
    snapshots = [f for f in files if f.startswith("minutes-")]
    assert snapshots, f"no wall-clock snapshot in {files}"
    for name in ("last.ckpt", *snapshots):
        model = molgen.generate.load(out / name)
        assert model.config.model.num_layers == 1 and model.config.model.tensor_product == "gaunt", name
    with np.load(out / "samples.npz", allow_pickle=False) as data:
        assert len(data["atom_ptr"]) - 1 == 6, f"{len(data['atom_ptr']) - 1} molecules in samples.npz"

    finished = script("gpu_train").main(["finish", str(out), "--out", str(tmp_path / "finish"), "--evaluate"])
    sdf = (tmp_path / "finish" / "samples.sdf").read_text()
    assert sdf.count("$$$$") == 6 == finished["finish"]["written"], f"{sdf.count('$$$$')} SDF records"
    assert set(finished["quality"]) >= {"validity/valid", "stability/mol_stable_corrected"}, finished["quality"]
    assert json.loads((tmp_path / "finish" / "gpu_train.json").read_text())["quality"] == finished["quality"]
