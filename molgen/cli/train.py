"""``molgen train`` and ``molgen finetune``: thin wrappers over :mod:`molgen.training.train`.

    molgen train --config configs/qm9.yaml [key=value ...] [--resume | --force]
    molgen finetune --ckpt CKPT --config configs/custom.yaml [key=value ...] [--force]
"""

from __future__ import annotations

import argparse

from molgen.cli import OneLineParser, input_error
from molgen.config.load import ConfigError, load_config
from molgen.config.schema import ExperimentConfig
from molgen.errors import MolgenInputError


def parser(finetune: bool = False) -> argparse.ArgumentParser:
    if finetune:
        p = OneLineParser(
            prog="molgen finetune", formatter_class=argparse.RawDescriptionHelpFormatter,
            description="Fine-tune a checkpoint's weights on the config's dataset.",
            epilog="The dataset must be prepared like the checkpoint's data (hydrogens kept or removed, aromatic\n"
                   "or Kekule bonds); molgen refuses a mismatch and prints the `molgen data` flags to use. The\n"
                   "shipped checkpoints/qm9_noh_gaunt_cpu.ckpt needs heavy atoms and Kekule bonds:\n"
                   "  molgen data custom --sdf my.sdf --name my_data --remove-hs --kekulize\n"
                   "  molgen finetune --ckpt checkpoints/qm9_noh_gaunt_cpu.ckpt --config configs/custom.yaml\n"
                   "configs/custom.yaml is the template (dataset.name=my_data, writes runs/custom; override with\n"
                   "key=value). The model section always comes from the checkpoint.")
        p.add_argument("--ckpt", required=True, help="checkpoint whose weights (and architecture) are loaded")
        p.add_argument("--config", required=True, help="YAML config naming the new dataset and training settings")
    else:
        p = OneLineParser(prog="molgen train", description="Train a diffusion model from a YAML config.")
        p.add_argument("--config", required=True, help="YAML config, e.g. configs/qm9.yaml")
        p.add_argument("--resume", action="store_true",
                       help="continue from <output_dir>/checkpoints/last.ckpt (or the newest valid step=*.ckpt)")
    p.add_argument("--force", action="store_true",
                   help="start a new run in a non-empty trainer.output_dir (its checkpoints/ are deleted first)")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. optim.lr=1e-4")
    return p


def _config(prog: str, args: argparse.Namespace) -> ExperimentConfig | None:
    try:
        config = load_config(args.config, args.overrides)
        check_machine(config)
        check_inputs_outside_run(config, args)
    except MolgenInputError as exc:
        input_error(prog, exc)
        return None
    return config


def check_machine(config: ExperimentConfig) -> None:
    """trainer.accelerator / devices this machine has (Lightning would end in a traceback otherwise)."""
    accelerator = config.trainer.accelerator
    if accelerator in ("gpu", "cuda"):
        from molgen.cli.guards import check_device

        check_device(f"cuda:{config.trainer.devices - 1}", f"trainer.accelerator={accelerator} "
                     f"trainer.devices={config.trainer.devices}:")
    elif accelerator == "mps":
        check_device("mps", "trainer.accelerator=mps:")


def check_inputs_outside_run(config: ExperimentConfig, args: argparse.Namespace) -> None:
    """``--force`` deletes ``<output_dir>/checkpoints/*.ckpt``: never the checkpoint or config being read."""
    from pathlib import Path

    if not getattr(args, "force", False):
        return
    checkpoints = (Path(config.trainer.output_dir) / "checkpoints").resolve()
    for option in ("ckpt", "config"):
        value = getattr(args, option, None)
        if value is not None and Path(value).resolve().parent == checkpoints:
            raise ConfigError(f"--{option} {value} lies in {checkpoints}, which --force would empty; copy it "
                              "elsewhere or choose another trainer.output_dir")


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    config = _config("molgen train", args)
    if config is None:
        return 2
    from molgen.training.train import train

    _finished(config, train(config, resume=args.resume, force=args.force, capture=True))
    return 0


def finetune_main(argv: list[str]) -> int:
    args = parser(finetune=True).parse_args(argv)
    model = [o for o in args.overrides if o.split("=", 1)[0].strip().startswith("model.")]
    if model:  # the architecture is the checkpoint's: an override of it would be read and dropped
        return input_error("molgen finetune", MolgenInputError(
            f"override {model[0]!r} has no effect: fine-tuning keeps the checkpoint's model section"))
    config = _config("molgen finetune", args)
    if config is None:
        return 2
    from molgen.training.train import finetune

    _finished(config, finetune(config, args.ckpt, force=args.force, capture=True))
    return 0


def _finished(config: ExperimentConfig, checkpoint) -> None:
    """The one line after a run: its folder, its final checkpoint and the log of Lightning's messages."""
    from pathlib import Path

    from molgen.training.run_dir import TRAIN_LOG

    out = Path(config.trainer.output_dir)
    log = out / TRAIN_LOG
    said = f"; Lightning's messages in {log}" if log.is_file() and log.stat().st_size else ""
    print(f"run {out}: final checkpoint {checkpoint}{said}")
