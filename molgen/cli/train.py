"""``molgen train --config configs/qm9.yaml [key=value ...] [--resume]``: wraps :func:`molgen.training.train.train`."""

from __future__ import annotations

import argparse

from molgen.config.load import ConfigError, load_config


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="molgen train", description="Train a diffusion model from a YAML config.")
    p.add_argument("--config", required=True, help="YAML config, e.g. configs/qm9.yaml")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. optim.lr=1e-4")
    p.add_argument("--resume", action="store_true", help="continue from <trainer.output_dir>/checkpoints/last.ckpt")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(f"molgen train: {exc}")
        return 2
    from molgen.training.train import train

    print(f"final checkpoint: {train(config, resume=args.resume)}")
    return 0
