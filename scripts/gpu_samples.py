"""Sampled heavy-atom graphs as flat numpy arrays (``samples.npz``): written on the device, read back here."""

from __future__ import annotations

from pathlib import Path

SAMPLE_KEYS = ("pos", "atom_types", "charges", "atom_ptr", "bond_index", "bond_types", "bond_ptr")


def save_samples(graphs: list, path: Path, seed: int, steps: int) -> None:
    """The graphs as flat arrays (:data:`SAMPLE_KEYS`), atomically."""
    import numpy as np

    from molgen.safe_write import atomic_path

    atoms = np.array([g.num_atoms for g in graphs], dtype=np.int64)
    bonds = np.array([g.num_bonds for g in graphs], dtype=np.int64)
    arrays = {
        "pos": np.concatenate([g.pos.numpy() for g in graphs]).astype(np.float32),
        "atom_types": np.concatenate([g.atom_types.numpy() for g in graphs]).astype(np.int64),
        "charges": np.concatenate([g.charges.numpy() for g in graphs]).astype(np.int64),
        "atom_ptr": np.concatenate([[0], np.cumsum(atoms)]).astype(np.int64),
        "bond_index": np.concatenate([g.bond_index.T.numpy() for g in graphs]).reshape(-1, 2).astype(np.int64),
        "bond_types": np.concatenate([g.bond_types.numpy() for g in graphs]).astype(np.int64),
        "bond_ptr": np.concatenate([[0], np.cumsum(bonds)]).astype(np.int64),
        "seed": np.array(seed), "steps": np.array(steps),
    }
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)


def read_samples(path: str | Path) -> list:
    """The graphs of :func:`save_samples`, named and tagged as ``molgen sample`` names them."""
    import numpy as np
    import torch

    from molgen.chem.molgraph import MolGraph

    with np.load(path, allow_pickle=False) as data:
        missing = [k for k in SAMPLE_KEYS if k not in data]
        if missing:
            raise ValueError(f"{path}: not a samples file of scripts/gpu_train.py (no {', '.join(missing)})")
        a = {k: data[k] for k in SAMPLE_KEYS}
        seed, steps = int(data["seed"]), int(data["steps"])
    graphs = []
    for k in range(len(a["atom_ptr"]) - 1):
        a0, a1, b0, b1 = a["atom_ptr"][k], a["atom_ptr"][k + 1], a["bond_ptr"][k], a["bond_ptr"][k + 1]
        graphs.append(MolGraph(
            pos=torch.from_numpy(a["pos"][a0:a1].copy()), atom_types=torch.from_numpy(a["atom_types"][a0:a1].copy()),
            charges=torch.from_numpy(a["charges"][a0:a1].copy()),
            bond_index=torch.from_numpy(a["bond_index"][b0:b1].T.copy()),
            bond_types=torch.from_numpy(a["bond_types"][b0:b1].copy()),
            name=f"sample_{k}", props={"seed": seed, "steps": steps}).validate())
    return graphs
