"""Generate the bad-input corpus: crafted pickles, broken checkpoints and SDFs, configs, proteins.

``python tests/corpus/make_corpus.py OUT_DIR`` writes every case into OUT_DIR (the tests call
:func:`make_corpus` on a ``tmp_path``). A crafted pickle, if it ever ran, would create the
file :data:`MARKER` next to itself: tests assert that it never exists.
"""

from __future__ import annotations

import gzip
import os
import pickle
import sys
from pathlib import Path

import torch

MARKER = "PWNED"

GOOD_RECORD = """water
  molgen

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.1173 O   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000    0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0
    0.0000   -0.7572   -0.4692 H   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  1  3  1  0
M  END
$$$$
"""


class Payload:
    """Unpickling this runs ``touch MARKER`` (through os.system): the attack the loaders must refuse."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _checkpoint_lookalike(marker: Path) -> dict:
    return {"state_dict": {"w": torch.zeros(2)}, "hyper_parameters": {"config": {}, "marginals": {}},
            "global_step": 1, "evil": Payload(marker)}


def checkpoint_cases(out: Path) -> dict[str, Path]:
    """Crafted and broken checkpoints; name -> path."""
    marker = out / MARKER
    cases = {name: out / f"{name}.ckpt" for name in
             ("crafted_dict", "crafted_object", "raw_pickle", "empty", "random", "truncated_1k", "truncated_600k",
              "not_a_checkpoint")}
    torch.save(_checkpoint_lookalike(marker), cases["crafted_dict"])
    torch.save(Payload(marker), cases["crafted_object"])
    cases["raw_pickle"].write_bytes(pickle.dumps(_checkpoint_lookalike(marker)))
    cases["empty"].write_bytes(b"")
    cases["random"].write_bytes(os.urandom(4096))
    torch.save({"state_dict": {"w": torch.zeros(3000)}, "x": 1}, cases["truncated_1k"])
    cases["truncated_1k"].write_bytes(cases["truncated_1k"].read_bytes()[:1024])
    torch.save({"state_dict": {"w": torch.zeros(300_000)}, "hyper_parameters": {}}, cases["truncated_600k"])
    cases["truncated_600k"].write_bytes(cases["truncated_600k"].read_bytes()[:600_000])
    torch.save({"weights": torch.zeros(2)}, cases["not_a_checkpoint"])
    return cases


def pickle_cases(out: Path) -> dict[str, Path]:
    """Crafted dataset pickles (GEOM rdkit_folder record, CrossDocked index.pkl); name -> path."""
    marker = out / MARKER
    geom = out / "geom_crafted.pickle"
    geom.write_bytes(pickle.dumps({"conformers": [{"rd_mol": Payload(marker), "totalenergy": 0.0}]}))
    index = out / "index_crafted.pkl"
    index.write_bytes(pickle.dumps([("a_pocket10.pdb", "a.sdf", "a.pdb", Payload(marker))]))
    return {"geom": geom, "index": index}


def sdf_cases(out: Path) -> dict[str, Path]:
    """Broken molecule files; name -> path."""
    cases = {"empty": out / "empty.sdf", "garbage": out / "garbage.sdf", "truncated_gz": out / "truncated.sdf.gz",
             "nan": out / "nan.sdf", "zero_atoms": out / "zero_atoms.sdf", "directory": out / "folder.sdf",
             "fifo": out / "fifo.sdf"}
    cases["empty"].write_text("")
    cases["garbage"].write_bytes(bytes(range(256)) * 16)
    full = gzip.compress((GOOD_RECORD * 200).encode())
    cases["truncated_gz"].write_bytes(full[: len(full) // 2])
    cases["nan"].write_text(GOOD_RECORD.replace("    0.0000    0.7572   -0.4692 H", "       nan    0.7572   -0.4692 H"))
    cases["zero_atoms"].write_text("empty\n  molgen\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n$$$$\n")
    cases["directory"].mkdir()
    os.mkfifo(cases["fifo"])
    return cases


def free_proton_sdf(out: Path) -> Path:
    """Water with a charged H+ 4.4 A away and bonded to nothing."""
    path = out / "free_proton.sdf"
    record = GOOD_RECORD.replace("  3  2  0", "  4  2  0").replace(
        "  1  2  1  0", "    4.4000    0.0000    0.0000 H   0  3  0  0  0  0  0  0  0  0  0  0\n  1  2  1  0")
    path.write_text(record)
    return path


def alkane_sdf(path: Path, n_carbons: int) -> Path:
    """One long alkane chain C_nH_2n+2 with 3D coordinates (a zigzag, hydrogens placed by RDKit): 3n + 2 atoms."""
    from rdkit import Chem
    from rdkit.Geometry import Point3D

    mol = Chem.MolFromSmiles("C" * n_carbons)
    conf = Chem.Conformer(n_carbons)
    for i in range(n_carbons):
        conf.SetAtomPosition(i, Point3D(i * 1.26, 0.89 * (i % 2), 0.0))
    conf.Set3D(True)
    mol.AddConformer(conf)
    mol = Chem.AddHs(mol, addCoords=True)
    mol.SetProp("_Name", f"alkane_{n_carbons}")
    with Chem.SDWriter(str(path)) as writer:
        writer.write(mol)
    return path


def config_cases(out: Path, base: Path) -> dict[str, Path]:
    """Config files: empty, and a negative learning rate (from ``base``)."""
    empty, negative = out / "empty.yaml", out / "negative_lr.yaml"
    empty.write_text("")
    negative.write_text(base.read_text().replace("lr: 1.0e-3", "lr: -1"))
    return {"empty": empty, "negative_lr": negative}


def protein_cases(out: Path) -> dict[str, Path]:
    """Protein files that are not PDB: missing, empty, an SDF."""
    empty, sdf = out / "empty.pdb", out / "ligand_as_protein.sdf"
    empty.write_text("")
    sdf.write_text(GOOD_RECORD)
    return {"missing": out / "missing.pdb", "empty": empty, "sdf": sdf}


def make_corpus(out: Path, base_config: Path) -> dict[str, dict[str, Path]]:
    """Every case, grouped by kind."""
    out.mkdir(parents=True, exist_ok=True)
    return {"checkpoint": checkpoint_cases(out), "pickle": pickle_cases(out), "sdf": sdf_cases(out),
            "config": config_cases(out, base_config), "protein": protein_cases(out)}


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2]
    for kind, cases in make_corpus(Path(sys.argv[1]), root / "configs" / "debug.yaml").items():
        print(kind, ", ".join(str(p) for p in cases.values()))
