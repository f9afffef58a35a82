"""``molgen finetune --ckpt CKPT --config CONFIG [key=value ...]``: wraps :func:`molgen.training.train.finetune`."""

from __future__ import annotations

import argparse

from molgen.config.load import ConfigError, load_config


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="molgen finetune",
                                description="Fine-tune a checkpoint's weights on the config's dataset.")
    p.add_argument("--ckpt", required=True, help="checkpoint whose weights (and architecture) are loaded")
    p.add_argument("--config", required=True, help="YAML config naming the new dataset and training settings")
    p.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. optim.lr=1e-4")
    return p


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
    except ConfigError as exc:
        print(f"molgen finetune: {exc}")
        return 2
    from molgen.training.train import finetune

    print(f"final checkpoint: {finetune(config, args.ckpt)}")
    return 0
