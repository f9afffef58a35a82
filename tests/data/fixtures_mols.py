"""Realistic drug-like molecules with RDKit-embedded 3D conformers, for fixture generators.

Molecules are scaffold x substituent combinations, so any number of distinct
SMILES can be produced deterministically; embedding is seeded and cached.
"""

from __future__ import annotations

from functools import cache

from rdkit import Chem
from rdkit.Chem import AllChem

# "[*]" marks where a substituent attaches.
SCAFFOLDS = (
    "c1ccc(cc1)C(=O)N[*]",
    "O=C(O)c1ccccc1O[*]",
    "c1ccc2[nH]ccc2c1[*]",
    "C1CCN(CC1)C(=O)[*]",
    "c1cnc(nc1)N[*]",
    "O=S(=O)(N[*])c1ccc(F)cc1",
    "c1ccc(cc1Cl)O[*]",
    "C1COCCN1C[*]",
    "c1ccsc1C(=O)[*]",
    "N#Cc1ccc(cc1)[*]",
)
SUBSTITUENTS = (
    "C", "CC", "C(C)C", "CCO", "CC(=O)O", "c1ccccc1", "CC#N", "C1CC1", "CCN(C)C", "C(F)(F)F",
    "CCCl", "c1ccncc1", "CCOC", "C(=O)N", "CCBr", "C1CCOC1", "CS(=O)(=O)C", "CC[NH3+]", "CC(=O)[O-]", "c1ccoc1",
)


def drug_like_smiles(n: int) -> list[str]:
    """``n`` distinct canonical SMILES (n <= 200)."""
    out: list[str] = []
    for sub in SUBSTITUENTS:
        for scaffold in SCAFFOLDS:
            mol = Chem.MolFromSmiles(scaffold.replace("[*]", sub))
            out.append(Chem.MolToSmiles(mol))
    unique = list(dict.fromkeys(out))
    if n > len(unique):
        raise ValueError(f"only {len(unique)} distinct fixture molecules, asked for {n}")
    return unique[:n]


@cache
def embedded(smiles: str, num_confs: int = 1, seed: int = 0) -> Chem.Mol:
    """Molecule with explicit hydrogens and ``num_confs`` ETKDG conformers (seeded)."""
    mol = Chem.AddHs(Chem.MolFromSmiles(smiles))
    params = AllChem.ETKDGv3()
    params.randomSeed = seed
    ids = AllChem.EmbedMultipleConfs(mol, numConfs=num_confs, params=params)
    if len(ids) != num_confs:
        raise RuntimeError(f"could not embed {num_confs} conformers of {smiles}")
    return mol


def conformer_mols(smiles: str, num_confs: int, seed: int = 0) -> list[Chem.Mol]:
    """One single-conformer molecule per embedded conformer."""
    mol = embedded(smiles, num_confs, seed)
    out = []
    for conf in mol.GetConformers():
        single = Chem.Mol(mol, confId=conf.GetId())
        out.append(single)
    return out
