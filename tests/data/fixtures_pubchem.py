"""Generator of PubChem ``Compound_3D/01_conf_per_cmpd/SDF/*.sdf.gz`` fixtures.

Each record has the CID as its title line, 3D coordinates with explicit hydrogens
and the ``PUBCHEM_*`` tags of the bulk files (a representative subset with the
official names and value formats).
"""

from __future__ import annotations

import gzip
from pathlib import Path

from fixtures_mols import conformer_mols
from rdkit import Chem


def pubchem_block(mol: Chem.Mol, cid: int) -> str:
    """One SDF record in PubChem's style."""
    mol = Chem.Mol(mol)
    mol.SetProp("_Name", str(cid))
    tags = {
        "PUBCHEM_COMPOUND_CID": str(cid),
        "PUBCHEM_CONFORMER_RMSD": "0.6",
        "PUBCHEM_CONFORMER_ID": f"{cid:08X}00000001",
        "PUBCHEM_MMFF94_ENERGY": f"{10.0 + cid % 17:.4f}",
        "PUBCHEM_HEAVY_ATOM_COUNT": str(mol.GetNumHeavyAtoms()),
        "PUBCHEM_EFFECTIVE_ROTOR_COUNT": "3",
        "PUBCHEM_SHAPE_VOLUME": f"{100 + mol.GetNumAtoms():.1f}",
        "PUBCHEM_COORDINATE_TYPE": "2\n5\n10",
    }
    writer_block = Chem.MolToMolBlock(mol, kekulize=True)
    body = "".join(f"> <{k}>\n{v}\n\n" for k, v in tags.items())
    return f"{writer_block}{body}$$$$\n"


def make_pubchem_sdf_gz(path: Path, smiles: list[str], first_cid: int = 1, corrupt_at: int | None = None) -> Path:
    """Write ``smiles`` as consecutive CIDs; ``corrupt_at`` replaces that record's atom block with garbage."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(path, "wt") as handle:
        for k, smi in enumerate(smiles):
            block = pubchem_block(conformer_mols(smi, 1)[0], first_cid + k)
            if k == corrupt_at:
                lines = block.split("\n")
                lines[4] = "   garbage coordinates here"
                block = "\n".join(lines)
            handle.write(block)
    return path


def pubchem_file_name(first_cid: int, per_file: int = 25000) -> str:
    """Official bulk file name, e.g. ``00000001_00025000.sdf.gz``."""
    return f"{first_cid:08d}_{first_cid + per_file - 1:08d}.sdf.gz"
