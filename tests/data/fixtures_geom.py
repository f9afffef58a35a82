"""Generators of GEOM-Drugs fixtures in the official release schemas.

``make_rdkit_folder`` writes ``rdkit_folder/summary_drugs.json`` + ``drugs/<name>.pickle``
(conformers with ``rd_mol``, ``geom_id``, ``set``, ``totalenergy``, ``relativeenergy``,
``boltzmannweight``, ``degeneracy``); ``make_drugs_msgpack`` writes a ``drugs_crude.msgpack``
stream of ``{smiles: {..., conformers: [{xyz: [[Z, x, y, z], ...], ...}]}}`` chunks.
Energies are chosen so the lowest-energy conformers are known: conformer c of a
molecule gets total energy ``-10 - (c * 7 % num_confs)`` (file order != energy order).
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import msgpack
from fixtures_mols import conformer_mols

KCAL_PER_HARTREE = 627.509


def _energies(num_confs: int) -> list[float]:
    return [-10.0 - float(c * 7 % num_confs) for c in range(num_confs)]


def _conformer_fields(smiles_index: int, energies: list[float], c: int) -> dict:
    low = min(energies)
    return {
        "geom_id": 1000 * smiles_index + c,
        "set": 1,
        "totalenergy": energies[c],
        "relativeenergy": (energies[c] - low) * KCAL_PER_HARTREE,
        "boltzmannweight": 1.0 / len(energies),
        "degeneracy": 1,
    }


def expected_kept_geom_ids(smiles_index: int, num_confs: int, k: int) -> list[int]:
    """geom_ids of the ``k`` lowest-energy conformers, lowest first."""
    energies = _energies(num_confs)
    order = sorted(range(num_confs), key=lambda c: energies[c])[:k]
    return [1000 * smiles_index + c for c in order]


def make_rdkit_folder(root: Path, smiles: list[str], num_confs: int = 7) -> Path:
    """Write an official-layout ``rdkit_folder`` under ``root``; returns its path."""
    folder = root / "rdkit_folder"
    (folder / "drugs").mkdir(parents=True, exist_ok=True)
    summary = {}
    for s, smi in enumerate(smiles):
        energies = _energies(num_confs)
        conformers = []
        for c, mol in enumerate(conformer_mols(smi, num_confs)):
            conformers.append({**_conformer_fields(s, energies, c), "rd_mol": mol})
        name = f"mol{s:05d}.pickle"
        record = {"smiles": smi, "charge": 0, "totalconfs": num_confs, "uniqueconfs": num_confs,
                  "lowestenergy": min(energies), "conformers": conformers}
        with open(folder / "drugs" / name, "wb") as handle:
            pickle.dump(record, handle)
        summary[smi] = {"charge": 0, "totalconfs": num_confs, "uniqueconfs": num_confs,
                        "lowestenergy": min(energies), "pickle_path": f"drugs/{name}"}
    (folder / "summary_drugs.json").write_text(json.dumps(summary, indent=1))
    return folder


def make_drugs_msgpack(path: Path, smiles: list[str], num_confs: int = 7, per_chunk: int = 4) -> Path:
    """Write a ``drugs_crude.msgpack``-structured stream with ``per_chunk`` molecules per object."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        for start in range(0, len(smiles), per_chunk):
            chunk = {}
            for s in range(start, min(start + per_chunk, len(smiles))):
                energies = _energies(num_confs)
                conformers = []
                for c, mol in enumerate(conformer_mols(smiles[s], num_confs)):
                    xyz = [[float(a.GetAtomicNum()), *map(float, mol.GetConformer().GetAtomPosition(a.GetIdx()))]
                           for a in mol.GetAtoms()]
                    conformers.append({**_conformer_fields(s, energies, c), "xyz": xyz})
                chunk[smiles[s]] = {"charge": 0, "totalconfs": num_confs, "conformers": conformers}
            handle.write(msgpack.packb(chunk, use_bin_type=True))
    return path
