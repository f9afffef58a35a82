"""The output directory of a training run: refuse to mix two runs, and pick the checkpoint to resume from.

* A new run (no ``--resume``) needs an empty or missing ``trainer.output_dir``; with
  ``force`` the previous run's checkpoints (``checkpoints/*.ckpt``) are deleted first (its logs
  stay, in a new ``logs/version_*``), and only when the folder is a molgen run (its
  ``config.yaml`` is a molgen config): ``--force`` never deletes anything from a folder
  molgen did not write.
* ``--resume`` continues from the newest valid checkpoint: ``last.ckpt``, or a
  ``step=*.ckpt`` with a higher step (a run killed between the two writes), or, when
  ``last.ckpt`` is missing or unreadable, the newest readable ``step=*.ckpt``.
  Temporary files of a killed checkpoint writer (``.*.tmp-*``) are removed first.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import yaml

from molgen.errors import MolgenInputError
from molgen.safe_load import load_checkpoint
from molgen.safe_write import remove_stale_temps

#: what Lightning and the libraries printed during the runs of a folder (``molgen train``)
TRAIN_LOG = "train.log"


def check_new_run(output_dir: Path, force: bool) -> None:
    """Raise :class:`MolgenInputError` if ``output_dir`` holds anything, unless ``force`` (no change on disk).

    A ``train.log`` alone (a run that stopped before it wrote its config) does not count."""
    if output_dir.exists() and not output_dir.is_dir():
        raise MolgenInputError(f"trainer.output_dir {output_dir} is not a directory")
    if not output_dir.is_dir() or not any(p.name != TRAIN_LOG for p in output_dir.iterdir()):
        return
    if not force:
        raise MolgenInputError(f"trainer.output_dir {output_dir} is not empty (an earlier run?); pass --resume to "
                               "continue it, or --force to start a new run there (its checkpoints/ are deleted)")
    if not is_molgen_run(output_dir):
        raise MolgenInputError(f"trainer.output_dir {output_dir} is not empty and is not a molgen run (no molgen "
                               "config.yaml): --force deletes only an earlier molgen run's checkpoints; choose "
                               "another trainer.output_dir")
    checkpoints = output_dir / "checkpoints"
    if checkpoints.exists() and not checkpoints.is_dir():
        raise MolgenInputError(f"{checkpoints} is not a directory; choose another trainer.output_dir")


def is_molgen_run(output_dir: Path) -> bool:
    """Whether ``output_dir/config.yaml`` is a config molgen wrote (a mapping with its model and trainer sections)."""
    path = output_dir / "config.yaml"
    if not path.is_file():
        return False
    try:
        data = yaml.safe_load(path.read_bytes()[:1 << 20].decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError):
        return False
    return isinstance(data, dict) and {"model", "trainer", "diffusion"} <= set(data)


def clear_old_run(output_dir: Path) -> None:
    """``--force``: delete the previous run's checkpoints so they cannot be mistaken for the new run's.

    Only the ``*.ckpt`` files (and temporary files of a killed writer) go; anything else stays.
    """
    folder = output_dir / "checkpoints"
    if not folder.is_dir():
        return
    remove_stale_temps(folder)
    for path in folder.glob("*.ckpt"):
        if path.is_file() or path.is_symlink():
            path.unlink()


def _step(path: Path) -> int:
    match = re.search(r"step=(\d+)", path.name)
    return int(match.group(1)) if match else -1


def resume_checkpoint(folder: Path) -> Path:
    """The newest valid checkpoint in ``folder`` (see the module docstring); a clear error if there is none."""
    if folder.is_dir():
        remove_stale_temps(folder)
    last = folder / "last.ckpt"
    steps = sorted(folder.glob("step=*.ckpt"), key=_step, reverse=True) if folder.is_dir() else []
    if not last.exists() and not steps:
        raise FileNotFoundError(f"--resume: no checkpoint to resume from at {last}")
    problems: list[str] = []
    last_step = -1
    if last.exists():
        try:
            last_step = int(load_checkpoint(last).get("global_step") or 0)
        except MolgenInputError as exc:  # unsafe, truncated, not a checkpoint, not a regular file
            problems.append(str(exc))
    else:
        problems.append(f"{last}: missing")
    for path in steps:
        if _step(path) <= last_step:
            break
        try:
            load_checkpoint(path)
        except MolgenInputError as exc:
            problems.append(str(exc))
            continue
        print(f"--resume: {'; '.join(problems) or 'last.ckpt is older'}; resuming from {path}", file=sys.stderr)
        return path
    if last_step >= 0:
        return last
    raise MolgenInputError(f"--resume: no valid checkpoint in {folder}: {'; '.join(problems)}")
