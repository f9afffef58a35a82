"""Generated molecules to SDF, as the model made them (its own bonds and charges), written atomically."""

from __future__ import annotations

import os

from rdkit import rdBase

from molgen.chem.featurize import reconstruct_mol
from molgen.chem.molgraph import MolGraph
from molgen.chem.sanitize import canonical_smiles
from molgen.chem.sdf import rdkit_unsafe, write_sdf


def write_samples(molecules: list[MolGraph], path: str | os.PathLike) -> dict[str, int]:
    """Write every molecule to an SDF atomically, with the model's own bonds and charges.

    Molecules RDKit cannot sanitise are still written; each record carries
    ``rdkit_sanitized`` (1/0) and, when 0, ``rdkit_error``. Returns counts: ``written``, ``sanitized``
    and ``distinct`` (distinct constitutions among the sanitised, by
    :func:`~molgen.chem.sanitize.canonical_smiles`, no stereo).
    """
    sanitized, smiles = 0, set()
    with rdBase.BlockLogs():  # RDKit's messages go into the rdkit_error property instead of the terminal
        for graph in molecules:
            if reason := rdkit_unsafe(graph):  # written by molgen itself (see molgen.chem.sdf.RDKIT_MAX_DEGREE)
                graph.props.update(rdkit_sanitized=0, rdkit_error=f"not given to RDKit: {reason}")
                continue
            result = reconstruct_mol(graph)
            graph.props["rdkit_sanitized"] = int(result.sanitized)
            if result.error:
                graph.props["rdkit_error"] = result.error.replace("\n", " ")
            sanitized += int(result.sanitized)
            if result.sanitized:
                smiles.add(canonical_smiles(result.mol))
        written = write_sdf(molecules, path)
    return {"written": written, "sanitized": sanitized, "distinct": len(smiles)}
