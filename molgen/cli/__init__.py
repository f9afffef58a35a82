"""The ``molgen`` command: a thin dispatcher over importable library functions.

Each sub-command is a function ``main(argv: list[str]) -> int`` in a module of this package
(``"module"`` means ``module.main``, ``"module:function"`` names another function); it is
imported only when used, so ``molgen evaluate`` never pays for importing the training stack.

Errors: every bad input (:class:`molgen.errors.MolgenInputError` and its subclasses
``ConfigError``, ``BadRecordError``, ``UnsafeFileError``, or an ``OSError`` such as a
missing file, or a file that is not UTF-8 text) is printed here as one line
``molgen COMMAND: error: ...`` with exit status 2. SIGINT and SIGTERM end a command with one line
``molgen COMMAND: interrupted by SIGINT`` and exit status 130 or 143 (:mod:`molgen.cli.signals`).
Any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from molgen.errors import Interrupted, MolgenInputError, one_line

COMMANDS: dict[str, tuple[str, str]] = {
    "data": ("molgen.cli.data", "prepare a dataset (qm9, geom, pubchem3d, crossdocked, custom, smiles, moses)"),
    "train": ("molgen.cli.train", "train a model from a YAML config"),
    "finetune": ("molgen.cli.train:finetune_main", "fine-tune a checkpoint on another processed dataset"),
    "sample": ("molgen.cli.sample", "sample molecules from a checkpoint to SDF"),
    "evaluate": ("molgen.cli.evaluate", "evaluate an SDF of molecules"),
    "dock": ("molgen.cli.dock", "score, minimise or dock an SDF into a protein with AutoDock Vina"),
}


class OneLineParser(argparse.ArgumentParser):
    """``argparse`` whose usage errors (an unknown flag, ``--steps 1.5``, a missing ``--out``) are one line
    ``PROG: error: ...`` and exit 2 like every other bad input, not the multi-line usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _usage() -> str:
    lines = ["usage: molgen COMMAND [options]", "", "commands:"]
    lines += [f"  {name:<10} {help_}" for name, (_, help_) in COMMANDS.items()]
    lines += ["", "Run 'molgen COMMAND --help' for a command's options."]
    return "\n".join(lines)


#: What counts as bad input (printed as one line, exit 2); every other exception is a bug with a traceback.
#: ``UnicodeDecodeError``: a file that is not UTF-8 text (readers name the file and line where they can).
INPUT_ERRORS = (OSError, MolgenInputError, UnicodeDecodeError)


def input_error(prog: str, exc: BaseException) -> int:
    """Print ``exc`` as the one line ``PROG: error: ...`` on stderr; return the exit status 2."""
    print(f"{prog}: error: {one_line(exc)}", file=sys.stderr)
    return 2


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    if argv[0] == "--version":
        from molgen import __version__

        print(f"molgen {__version__}")
        return 0
    name, rest = argv[0], argv[1:]
    if name not in COMMANDS:
        print(f"molgen: unknown command {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    from molgen.cli.signals import handle_signals

    try:
        with handle_signals():
            module_name, _, function = COMMANDS[name][0].partition(":")
            command = getattr(importlib.import_module(module_name), function or "main")
            return int(command(rest) or 0)
    except INPUT_ERRORS as exc:  # bad input named by the library: one line, no traceback
        return input_error(f"molgen {name}", exc)
    except Interrupted as exc:  # SIGINT / SIGTERM: every writer has removed its temporary files
        status, message = exc.exit_status, f"molgen {name}: {exc}; nothing partial was written under a final name"
    import gc

    gc.collect()  # the interrupted frames go now: a progress bar they held is closed before the last line
    print(message, file=sys.stderr)
    return status
