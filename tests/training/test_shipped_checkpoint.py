"""The pretrained checkpoint shipped in checkpoints/ loads, samples and beats an untrained model."""

from __future__ import annotations

from pathlib import Path

from rdkit import Chem

from molgen.eval import evaluate_molecules
from molgen.training.sample import sample, write_samples

CKPT = Path(__file__).resolve().parents[2] / "checkpoints" / "qm9_small_cpu.ckpt"


def test_shipped_qm9_checkpoint_samples_valid_molecules(tmp_path):
    graphs = sample(CKPT, 16, steps=50, seed=0, batch_size=16, progress=False)
    assert len(graphs) == 16
    out = tmp_path / "samples.sdf"
    assert write_samples(graphs, out)["written"] == 16
    mols = list(Chem.ForwardSDMolSupplier(str(out), sanitize=False, removeHs=False))
    assert [m.GetNumAtoms() for m in mols] == [g.num_atoms for g in graphs]
    metrics = evaluate_molecules(mols, "basic")
    # An untrained model of the same size gives 0.00 here (bench/RESULTS.md); the shipped
    # one, trained 55 min on CPU, gives 0.25 on this seed (0.34 on 64 molecules at 500 steps).
    assert metrics["validity/valid_and_connected"] >= 0.125
    assert metrics["stability/atom_stable_corrected"] >= 0.8
