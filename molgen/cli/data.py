"""``molgen data DATASET [options]``: prepare a dataset (thin wrapper over each dataset's library function).

Every dataset module listed in :data:`DATASETS` exposes two functions:

* ``add_cli_arguments(parser: argparse.ArgumentParser) -> None``: its own options;
* ``run_cli(args: argparse.Namespace) -> ProcessReport``: calls its library function.

The options every dataset shares (``--root``, ``--force``, ``--workers``,
``--strict``, ``--no-progress``) are added here and arrive in ``args``.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from molgen.cli import INPUT_ERRORS, input_error

#: dataset name -> (module, one-line description)
DATASETS: dict[str, tuple[str, str]] = {
    "qm9": ("molgen.data.qm9", "QM9 (torch_geometric raw, official XYZ tarball, or the qm9pack package)"),
    "geom": ("molgen.data.geom", "GEOM-Drugs conformers"),
    "pubchem3d": ("molgen.data.pubchem3d", "PubChem3D Compound_3D SDF files"),
    "crossdocked": ("molgen.data.crossdocked", "CrossDocked2020 pocket10 protein-ligand pairs"),
    "custom": ("molgen.data.custom", "your own SDF files"),
}


def _parser(name: str, module) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=f"molgen data {name}", description=DATASETS[name][1])
    parser.add_argument("--root", default=None, help="data root (default $MOLGEN_DATA or ./data)")
    parser.add_argument("--force", action="store_true", help="rebuild even if processed output exists")
    parser.add_argument("--workers", type=int, default=1, help="worker processes for featurisation")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad record instead of skipping it")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    module.add_cli_arguments(parser)
    return parser


def _usage() -> str:
    lines = ["usage: molgen data DATASET [options]", "", "datasets:"]
    lines += [f"  {name:<12} {help_}" for name, (_, help_) in DATASETS.items()]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    if not argv or argv[0] in ("-h", "--help"):
        print(_usage())
        return 0
    name = argv[0]
    if name not in DATASETS:
        print(f"molgen data: unknown dataset {name!r}\n\n{_usage()}", file=sys.stderr)
        return 2
    module = importlib.import_module(DATASETS[name][0])
    args = _parser(name, module).parse_args(argv[1:])
    try:
        module.run_cli(args)
    except INPUT_ERRORS as exc:
        return input_error(f"molgen data {name}", exc)
    return 0
