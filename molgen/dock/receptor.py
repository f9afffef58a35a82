"""Receptor preparation in-process: plain PDB -> rigid receptor PDBQT, cached by content hash.

No MGLTools, no pdb2pqr: Open Babel (``openbabel-wheel``, already a molgen dependency)
reads the PDB, waters and non-metal hetero groups (ligands, buffer molecules) are removed,
hydrogens are removed and re-added at pH 7.4 (the input's own hydrogens, if any, are not
trusted), and the rigid-receptor PDBQT is written with AutoDock atom types; Vina merges
non-polar hydrogens itself. TargetDiff instead protonates with ``pdb2pqr30 --ff=AMBER`` and
converts with ``prepare_receptor4.py``; on the AutoDock Vina 1iep example both give the same
score-only energy for the crystal ligand (-12.5 kcal/mol, tested).

The PDBQT is cached under ``cache_dir`` (default ``$MOLGEN_CACHE/receptors`` or
``~/.cache/molgen/receptors``) as ``<sha256 of the PDB bytes and the preparation settings>.pdbqt``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

from molgen.dock.errors import DockingInputError
from molgen.safe_write import write_text_atomic

#: Bumped whenever the preparation changes, so stale cache entries are never reused.
PREP_VERSION = "1"
#: pH at which Open Babel adds hydrogens.
PH = 7.4
#: Residue names removed as water.
WATERS = frozenset({"HOH", "WAT", "H2O", "DOD", "TIP", "TIP3", "SOL"})
#: Elements kept when they form a one-atom hetero residue (structural metal ions; Vina types them Met_D).
METALS = frozenset({"Zn", "Mg", "Mn", "Fe", "Ca", "Co", "Ni", "Cu"})
#: More atoms than this (a whole virus capsid, a ribosome) is refused: crop to the site.
MAX_RECEPTOR_ATOMS = 100_000
#: |coordinate| above this (Angstrom) is no structure (the PDB format holds at most 9999.999).
MAX_COORDINATE = 1e4


@dataclass(frozen=True)
class PreparedReceptor:
    """A receptor ready for Vina: ``pdbqt`` path, source ``pdb`` path, content ``digest``, atom counts."""

    pdbqt: Path
    pdb: Path
    digest: str
    n_heavy_atoms: int
    n_removed_residues: int


def default_cache_dir() -> Path:
    """``$MOLGEN_CACHE/receptors``, else ``~/.cache/molgen/receptors``."""
    root = os.environ.get("MOLGEN_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "molgen") / "receptors"


def receptor_digest(pdb_bytes: bytes, keep_hetero: bool) -> str:
    """sha256 of the PDB content and the preparation settings (the cache key)."""
    tag = f"molgen-receptor v{PREP_VERSION} ph={PH} keep_hetero={keep_hetero}\n".encode()
    return hashlib.sha256(tag + pdb_bytes).hexdigest()


def prepare_receptor(
    pdb_path: str | Path, cache_dir: str | Path | None = None, keep_hetero: bool = False
) -> PreparedReceptor:
    """Prepare (or fetch from the cache) the rigid PDBQT of the protein in ``pdb_path``.

    ``keep_hetero`` keeps every HETATM residue except water (by default only one-atom
    metal ions of :data:`METALS` are kept). Raises :class:`DockingInputError` naming the
    file when it is missing or holds no protein atoms.
    """
    pdb_path = Path(pdb_path)
    if not pdb_path.is_file():
        raise DockingInputError(f"{pdb_path}: receptor file not found")
    data = pdb_path.read_bytes()
    check_receptor_atoms(pdb_path, data)
    digest = receptor_digest(data, keep_hetero)
    folder = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    target = folder / f"{digest}.pdbqt"
    if not target.is_file():
        text, n_removed = _convert(pdb_path, data, keep_hetero)
        folder.mkdir(parents=True, exist_ok=True)
        write_text_atomic(target, f"REMARK  molgen removed_residues {n_removed}\n{text}")
    return _describe(target, pdb_path, digest)


def check_receptor_atoms(pdb_path: Path, data: bytes) -> int:
    """Count the ATOM/HETATM records of ``data``; raise :class:`DockingInputError` naming the line of a short
    record or one whose coordinates are not finite, and when there are more than :data:`MAX_RECEPTOR_ATOMS`."""
    count = 0
    for lineno, raw in enumerate(data.splitlines(), 1):
        if not raw.startswith((b"ATOM", b"HETATM")):
            continue
        count += 1
        line = raw.decode("latin-1")
        try:
            xyz = [float(line[30:38]), float(line[38:46]), float(line[46:54])]
        except ValueError:
            raise DockingInputError(f"{pdb_path}: line {lineno}: {line[:6].strip()} record without three "
                                    f"coordinates in columns 31-54 ({len(line)} columns)") from None
        if not all(abs(c) <= MAX_COORDINATE for c in xyz):  # NaN fails too
            raise DockingInputError(f"{pdb_path}: line {lineno}: coordinates {xyz} are not finite numbers "
                                    f"within +-{MAX_COORDINATE:g} A")
        if count > MAX_RECEPTOR_ATOMS:
            raise DockingInputError(f"{pdb_path}: more than {MAX_RECEPTOR_ATOMS} atoms; Vina's grids and Open "
                                    "Babel's protonation would take minutes: crop the receptor to the binding site")
    return count


def _describe(pdbqt: Path, pdb_path: Path, digest: str) -> PreparedReceptor:
    """Counts of a prepared (possibly cached) PDBQT, read back from the file itself."""
    n_heavy, n_removed = 0, 0
    for line in pdbqt.read_text(encoding="latin-1").splitlines():
        if line.startswith(("ATOM", "HETATM")) and line[77:79].strip() not in ("H", "HD"):
            n_heavy += 1
        elif line.startswith("REMARK  molgen removed_residues"):
            n_removed = int(line.split()[-1])
    return PreparedReceptor(pdbqt, pdb_path, digest, n_heavy, n_removed)


def _convert(pdb_path: Path, data: bytes, keep_hetero: bool) -> tuple[str, int]:
    """PDBQT text and removed-residue count for the PDB bytes ``data``."""
    from openbabel import openbabel as ob

    ob.obErrorLog.SetOutputLevel(0)  # kekulisation notes on protein residues are noise here
    has_atoms = any(line.startswith(("ATOM", "HETATM")) for line in data.decode("latin-1").splitlines())
    if not has_atoms:
        raise DockingInputError(f"{pdb_path}: no ATOM or HETATM records (an empty or non-PDB receptor file)")
    conv = ob.OBConversion()
    conv.SetInAndOutFormats("pdb", "pdbqt")
    conv.AddOption("r", ob.OBConversion.OUTOPTIONS)  # rigid receptor: no ROOT/BRANCH tree
    mol = ob.OBMol()
    if not conv.ReadString(mol, data.decode("latin-1")) or mol.NumAtoms() == 0:
        raise DockingInputError(f"{pdb_path}: Open Babel could not read any atom from the PDB file")
    n_removed = _strip_hetero(mol, keep_hetero)
    mol.DeleteHydrogens()
    if mol.NumAtoms() == 0:
        raise DockingInputError(f"{pdb_path}: no receptor atoms left after removing waters and hetero groups")
    mol.AddHydrogens(False, True, PH)
    text = conv.WriteString(mol)
    if "ATOM" not in text:
        raise DockingInputError(f"{pdb_path}: Open Babel wrote no PDBQT atoms for this receptor")
    return text, n_removed


def _strip_hetero(mol, keep_hetero: bool) -> int:
    """Delete water residues and (unless ``keep_hetero``) non-metal hetero residues; return how many."""
    from openbabel import openbabel as ob

    doomed = []
    for residue in ob.OBResidueIter(mol):
        name = residue.GetName().strip().upper()
        atoms = list(ob.OBResidueAtomIter(residue))
        hetero = any(residue.IsHetAtom(a) for a in atoms)
        heavy = [a for a in atoms if a.GetAtomicNum() > 1]
        metal_ion = len(heavy) == 1 and ob.GetSymbol(heavy[0].GetAtomicNum()) in METALS
        if name in WATERS or (hetero and not keep_hetero and not metal_ion):
            doomed.append(atoms)
    for atoms in doomed:
        for atom in atoms:
            mol.DeleteAtom(atom)
    return len(doomed)
