"""How a dataset was prepared (hydrogens, bond form, elements), read from marginals, and the check
that a checkpoint and the dataset it is trained further on agree.

A checkpoint holds the marginals of the data it was trained on (``hyper_parameters["marginals"]``),
and every processed dataset its ``statistics.json``; both say, without any extra record, whether
hydrogens were kept (H atom frequency > 0) and whether bonds are aromatic (class 4 frequency > 0)
or Kekulé (no aromatic bond although atoms are flagged aromatic). So checkpoints written before
this check are judged the same way as new ones. A dataset without aromatic rings at all does not
say which bond form it used; then only the hydrogens are compared.

A model trained on heavy atoms with Kekulé bonds (``qm9_noh_gaunt_cpu.ckpt``) fine-tuned on a set
with explicit hydrogens and aromatic bonds learns nothing useful (0 % valid molecules), so
:func:`check_agreement` refuses the pair with one line naming the ``molgen data`` flags to use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from molgen.chem.vocab import ATOM_TYPES, BOND_TYPES
from molgen.errors import MolgenInputError

_H = ATOM_TYPES.index("H")
_AROMATIC = BOND_TYPES.index("aromatic")


@dataclass(frozen=True)
class DataForm:
    """``hydrogens``: explicit H atoms; ``aromatic``: True aromatic class, False Kekulé, None unknown."""

    hydrogens: bool
    aromatic: bool | None
    elements: frozenset[str]

    def describe(self) -> str:
        bonds = {True: "aromatic bonds", False: "Kekulé bonds", None: "no aromatic ring"}[self.aromatic]
        return f"{'explicit hydrogens' if self.hydrogens else 'heavy atoms only'}, {bonds}"


def _values(marginals: dict, key: str) -> list[float]:
    value = marginals.get(key, [])
    return [float(v) for v in (value.tolist() if hasattr(value, "tolist") else value)]


def data_form(marginals: dict) -> DataForm:
    """The :class:`DataForm` of the data whose marginals (``Marginals.to_dict()`` or a checkpoint's) are given."""
    atoms, bonds = _values(marginals, "atom_types"), _values(marginals, "bonds")
    aromatic_atoms = _values(marginals.get("extras") or {}, "is_aromatic")
    if len(bonds) > _AROMATIC and bonds[_AROMATIC] > 0:
        aromatic: bool | None = True
    elif len(aromatic_atoms) > 1 and aromatic_atoms[1] > 0:
        aromatic = False
    else:
        aromatic = None
    elements = frozenset(s for s, p in zip(ATOM_TYPES, atoms, strict=False) if p > 0)
    return DataForm(hydrogens=len(atoms) > _H and atoms[_H] > 0, aromatic=aromatic, elements=elements)


def rebuild_flags(folder: Path, wanted: DataForm) -> str:
    """The ``molgen data`` command line (with the flags that give ``wanted``) for the dataset in ``folder``."""
    signature: dict = {}
    report = folder / "report.json"
    if report.is_file():
        try:
            signature = json.loads(report.read_text(encoding="utf-8")).get("signature") or {}
        except (OSError, json.JSONDecodeError):
            signature = {}
    hs = " --remove-hs" if not wanted.hydrogens else ""
    if "source" in signature:  # QM9: Kekulé by default, --aromatic keeps the aromatic class
        return f"molgen data qm9 --source {signature['source']}{hs}{' --aromatic' if wanted.aromatic else ''} --force"
    if signature.get("builder") == "PubChem3D":
        return f"molgen data pubchem3d --raw DIR{hs} --force"
    kekulize = " --kekulize" if wanted.aromatic is False else ""
    sdf = signature.get("sdf", "FILE")
    return f"molgen data custom --sdf {sdf} --name {folder.name}{hs}{kekulize} --force"


def check_agreement(checkpoint: str | Path, saved: dict, dataset: dict, folder: Path, verb: str = "finetune") -> None:
    """Raise :class:`MolgenInputError` when the data of ``checkpoint`` (its marginals ``saved``) and the
    dataset in ``folder`` (its marginals ``dataset``) differ in hydrogens or bond form."""
    want, have = data_form(saved), data_form(dataset)
    differs = want.hydrogens != have.hydrogens or (
        want.aromatic is not None and have.aromatic is not None and want.aromatic != have.aromatic)
    if not differs:
        return
    said = "" if verb == "finetune" else f"{verb}: "  # `molgen finetune: error:` already names the command
    raise MolgenInputError(
        f"{said}{checkpoint} was trained on {want.describe()}, but dataset {folder} holds {have.describe()}; "
        f"rebuild it with `{rebuild_flags(folder, want)}` (a mismatched model learns nothing valid)"
    )
