"""Errors of the docking pipeline: bad input files (fatal) and per-molecule failures (recorded).

A :class:`DockingInputError` names a file and what is wrong with it (missing receptor, a
receptor with no atoms, an unreadable box file); it is a :class:`~molgen.errors.MolgenInputError`,
which the CLI prints on one line before exiting 2.
A :class:`LigandError` is one molecule's problem (unsupported element, outside the box,
preparation failed); the batch driver records its message as that molecule's ``reason``
and goes on with the next molecule.
"""

from __future__ import annotations

from molgen.errors import MolgenInputError


class DockingInputError(MolgenInputError):
    """A bad input file; the message names the file and the problem."""


class LigandError(ValueError):
    """One ligand cannot be prepared or docked; the message is the reason written to the CSV."""
