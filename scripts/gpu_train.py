"""One GPU session (issue 9 item 5): step timings, a larger Gaunt L = 2 trained with bf16 and big batches, samples.

``run`` (what ``scripts/gpu_train.sh`` starts on the device; any device: CUDA when present, else CPU):

1. times one training step (noising + forward + EQGAT-diff loss + backward + gradient clipping + AdamW; the
   loss of :meth:`MolecularDiffusion.training_loss`, as in training) of L = 1 (EQGAT-diff's vectors), Gaunt
   L = 2 and e3nn L = 2 models of the training model's sizes on one batch of real training molecules, in
   fp32 and under bf16 autocast: median of ``--timing-steps`` after ``--warmup`` steps, peak memory on CUDA;
2. trains the model of ``--config`` (configs/gpu_train.yaml: configs/demo.yaml's Gaunt L = 2, the winner of
   bench/RESULTS.md's equal-wall-clock study, at a larger size, 512 molecules per step, ``bf16-mixed``) with
   its trailing ``key=value`` overrides through :func:`molgen.training.train.train`, for the wall-clock budget
   that is left (``--budget-minutes`` counts from the start of this script, minus ``--reserve-minutes`` for
   what follows), keeping wall-clock snapshots; if the Gaunt step failed under
   bf16 in 1., it trains in ``32-true`` instead and says why (``precision_fallback``);
3. samples ``--num-samples`` molecules with ``--sample-steps`` reverse jumps from the final checkpoint (EMA
   weights; the same sizes and seeds as ``molgen sample``) and keeps the heavy-atom graphs.

Everything goes to ``--out`` (``$OUT``; at most 8 files, as the device returns them): ``gpu_train.json``
(written after every stage: device, versions, parameter counts, step timings, training steps/s and
molecules/s, sampling molecules/s), ``last.ckpt`` and ``minutes-<m>.ckpt`` (config, marginals and weights,
no optimizer state: for ``molgen sample``/``molgen.load``, not ``--resume``), ``metrics.csv`` (the training
log) and ``samples.npz`` (the sampled heavy-atom graphs: ``pos``, ``atom_types``, ``charges``, ``atom_ptr``,
``bond_index`` (local, i < j), ``bond_types``, ``bond_ptr``; read with ``numpy.load(allow_pickle=False)``).

The device image has no RDKit, and training and plain sampling need none (``tests/test_layers.py`` checks
that they never import it: molgen imports RDKit only where a function uses it). Hence samples are kept as
graphs, and their hydrogens, SDF and quality are made here, on CPU, with RDKit (``finish``)::

    python scripts/gpu_train.py finish /work/.device/.../files --out runs/gpu_finish     # samples.sdf
    molgen evaluate runs/gpu_finish/samples.sdf --reference qm9_noh --metrics standard --out runs/gpu_finish/eval

``finish --evaluate`` also scores them (``basic`` metrics) into ``runs/gpu_finish/gpu_train.json``.

    python scripts/gpu_train.py run --out runs/gpu_out --budget-minutes 8 [key=value ...]

Trailing ``key=value`` items are dotted config overrides (``molgen.config``, e.g. ``model.num_layers=4
batching.batch_size=256 dataset.name=qm9_noh_gpu``), applied last; the script itself sets only what depends
on the run (accelerator, output folder, minutes, snapshots, loader workers). The seed of the timings and of
sampling is ``trainer.seed``. The data set is a processed dataset; ``scripts/export_train_subset.py`` makes a
copy small enough to carry to the device.
The last line printed is the JSON.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import json
import os
import platform
import shutil
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # the sibling modules below
from gpu_samples import read_samples, save_samples  # noqa: E402
from gpu_timing import TRAINED_ARM, step_timings, synchronize  # noqa: E402

START = time.perf_counter()  # the wall-clock budget counts from here, imports included
ROOT = Path(__file__).resolve().parents[1]
QUALITY_KEYS = ("validity/valid", "validity/valid_and_connected", "stability/mol_stable_corrected",
                "stability/atom_stable_corrected", "validity/uniqueness")
OUT_FILE_LIMIT = 16 << 20  # bytes per file the device returns


# ------------------------------------------------------------------------------------------------ helpers
def now_utc() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def elapsed_s() -> float:
    return time.perf_counter() - START


def write_json(path: Path, data: dict) -> None:
    from molgen.safe_write import write_text_atomic

    write_text_atomic(path, json.dumps(data, indent=1, default=str) + "\n")


def describe_device(device: Any) -> dict:
    import torch

    info: dict[str, Any] = {"type": device.type, "cpu": platform.processor() or platform.machine(),
                            "cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads()}
    if device.type == "cuda":
        props = torch.cuda.get_device_properties(device)
        info.update(name=props.name, capability=f"{props.major}.{props.minor}",
                    memory_gib=round(props.total_memory / 2**30, 1), multiprocessors=props.multi_processor_count,
                    cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                    bf16_supported=torch.cuda.is_bf16_supported(),
                    float32_matmul_precision=torch.get_float32_matmul_precision())
    return info


def rdkit_version() -> str | None:
    """The installed RDKit's version, or None where it cannot be imported (the device image)."""
    try:
        import rdkit
    except ImportError:
        return None
    return rdkit.__version__


def versions() -> dict:
    import e3nn
    import lightning
    import numpy
    import torch

    rdkit = rdkit_version() or "absent (not needed: training and sampling run without it)"
    return {"python": platform.python_version(), "torch": torch.__version__, "lightning": lightning.__version__,
            "e3nn": e3nn.__version__, "numpy": numpy.__version__, "rdkit": rdkit}


def dataloader_workers(requested: int | None, device: Any) -> int:
    if requested is not None:
        return requested
    return 0 if device.type != "cuda" else max(0, min(8, (os.cpu_count() or 2) - 2))


def build_config(args: argparse.Namespace, device: Any, run_dir: Path, *, precision: str | None,
                 max_minutes: float | None, snapshots: list[float]) -> Any:
    """``--config`` with what depends on this run (``precision`` None: the config's own), then ``args.overrides``."""
    from molgen.config import load_config

    overrides = [
        f"dataset.num_workers={dataloader_workers(args.workers, device)}",
        f"trainer.accelerator={'gpu' if device.type == 'cuda' else 'cpu'}", "trainer.devices=1",
        f"trainer.output_dir={run_dir}", f"trainer.snapshot_minutes={snapshots}",
        f"optim.max_minutes={'null' if max_minutes is None else max_minutes}",
        *([] if precision is None else [f"trainer.precision={precision}"]),
    ]
    return load_config(args.config, [*overrides, *args.overrides])


def timing_batch(train_set: Any, size: int, seed: int) -> Any:
    """``size`` training molecules drawn at random (the stores keep the raw files' order, QM9's by size)."""
    import torch

    from molgen.data.template import collate

    order = torch.randperm(len(train_set), generator=torch.Generator().manual_seed(seed))[:size]
    return collate([train_set[int(i)] for i in order])


def check_loader(train_set: Any, batch_size: int, workers: int, seed: int) -> dict:
    """Molecules/s of a DataLoader with ``workers`` processes, as training builds it (a few batches after the
    first); ``error`` instead when the workers fail (e.g. too little shared memory for them)."""
    import torch
    from torch.utils.data import DataLoader

    from molgen.data.template import collate

    batches = max(2, min(4 * workers, 24))
    loader = DataLoader(train_set, batch_size=batch_size, shuffle=True, num_workers=workers, collate_fn=collate,
                        generator=torch.Generator().manual_seed(seed))
    try:
        iterator = iter(loader)
        next(iterator)
        start, count = time.perf_counter(), 0
        for _ in range(batches):
            count += next(iterator).num_graphs
        seconds = time.perf_counter() - start
    except (RuntimeError, OSError, StopIteration) as exc:
        return {"workers": workers, "error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
    finally:
        del loader
    return {"workers": workers, "batches": batches, "molecules_per_s": round(count / seconds, 1)}


# ------------------------------------------------------------------------------------------- 2. training
def slim_checkpoint(src: Path, dst: Path) -> dict:
    """Copy ``src`` without optimizer and loop state (config, marginals, weights, EMA weights: what
    :func:`molgen.generate.load` reads). Over :data:`OUT_FILE_LIMIT`, keep only the EMA weights (sampling)."""
    import torch

    from molgen.safe_load import load_checkpoint
    from molgen.safe_write import atomic_path

    ckpt = load_checkpoint(src)
    kept = {k: ckpt[k] for k in ("hyper_parameters", "global_step", "epoch", "pytorch-lightning_version") if k in ckpt}
    for prefixes in (("denoiser.", "ema."), ("ema.",)):
        state = {k: v for k, v in ckpt["state_dict"].items() if k.startswith(prefixes)}
        with atomic_path(dst) as tmp:
            torch.save({**kept, "state_dict": state}, tmp)
        if dst.stat().st_size <= OUT_FILE_LIMIT:
            break
    return {"file": dst.name, "bytes": dst.stat().st_size, "weights": "+".join(p.rstrip(".") for p in prefixes),
            "global_step": int(ckpt.get("global_step", -1))}


def training_seconds(ckpt: dict) -> float | None:
    """Training time summed by :class:`molgen.training.snapshots.WallClockSnapshots` (stored in the checkpoint)."""
    for state in (ckpt.get("callbacks") or {}).values():
        if isinstance(state, dict) and "training_seconds" in state:
            return float(state["training_seconds"])
    return None


def read_losses(metrics_csv: Path) -> list[float]:
    if not metrics_csv.is_file():
        return []
    with open(metrics_csv, newline="") as f:
        return [float(row["train/loss"]) for row in csv.DictReader(f) if row.get("train/loss")]


def train_model(config: Any, run_dir: Path, out: Path, train_molecules: int) -> dict:
    from molgen.safe_load import load_checkpoint
    from molgen.training.train import train

    start = time.perf_counter()
    last = train(config, force=True)
    wall = time.perf_counter() - start
    ckpt = load_checkpoint(last)
    steps = int(ckpt["global_step"])
    seconds = training_seconds(ckpt) or wall
    batch = config.batching.batch_size
    logs = sorted((run_dir / "logs").glob("version_*/metrics.csv"))
    losses = read_losses(logs[-1]) if logs else []
    if logs:
        shutil.copyfile(logs[-1], out / "metrics.csv")
    files = [slim_checkpoint(last, out / "last.ckpt")]
    for snap in sorted((run_dir / "checkpoints").glob("minutes=*.ckpt")):
        files.append(slim_checkpoint(snap, out / snap.name.replace("=", "-")))
    params = sum(v.numel() for k, v in ckpt["state_dict"].items() if k.startswith("denoiser."))
    return {
        "params": params, "steps": steps, "seconds": round(seconds, 2), "wall_seconds_with_setup": round(wall, 2),
        "steps_per_s": round(steps / seconds, 3) if seconds > 0 else None,
        # fixed batches of batch_size; the last batch of each epoch is smaller (< 1% at QM9 sizes)
        "molecules_per_s": round(steps * batch / seconds, 1) if seconds > 0 else None,
        "epochs": round(steps * batch / train_molecules, 2), "train_molecules": train_molecules,
        "first_logged_loss": losses[0] if losses else None,
        "last_logged_losses_mean": round(statistics.fmean(losses[-10:]), 4) if losses else None,
        "checkpoints": files,
    }


# ------------------------------------------------------------------------------------------- 3. sampling
def sample_graphs(ckpt: Path, device: Any, num: int, steps: int, batch_size: int, seed: int) -> tuple[list, float]:
    """Heavy-atom graphs of ``molgen sample`` (the same :class:`~molgen.generate.options.SampleOptions`, so the same
    sizes and seeds for the same batch size) without the hydrogens it adds with RDKit; returns them and the
    sampling seconds (model load excluded)."""
    from molgen.generate.generator import load
    from molgen.generate.options import SampleOptions

    options = SampleOptions(num=num, steps=steps, seed=seed, batch_size=batch_size, hydrogens=False)
    model = load(ckpt, device)
    synchronize(device)
    start = time.perf_counter()
    graphs = model.sample(options)
    synchronize(device)
    return graphs, time.perf_counter() - start


# ------------------------------------------------------------------------------------------------- run
def run(args: argparse.Namespace) -> dict:
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    import torch

    from molgen.training.datamodule import open_train_split

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    run_dir = Path(args.run_dir)
    report: dict[str, Any] = {"script": "scripts/gpu_train.py", "started_utc": now_utc(),
                              "device": describe_device(device), "versions": versions(),
                              "budget_minutes": args.budget_minutes, "args": {k: v for k, v in vars(args).items()
                                                                              if k != "func"}}
    json_path = out / "gpu_train.json"
    write_json(json_path, report)

    config = build_config(args, device, run_dir, precision=None, max_minutes=None, snapshots=[])
    args.seed, batch_size = config.trainer.seed, config.batching.batch_size  # of the timings and of sampling
    train_set, marginals = open_train_split(config.dataset)
    report["model"] = dataclasses.asdict(config.model)
    workers = config.dataset.num_workers
    report["loader"] = check_loader(train_set, batch_size, workers, args.seed)
    if "error" in report["loader"] and workers > 0:  # training would die of it: load in the main process
        args.workers = 0
        report["loader_fallback"] = check_loader(train_set, batch_size, 0, args.seed)
        print(f"gpu_train: DataLoader workers failed ({report['loader']['error']}): training loads in the main "
              "process", file=sys.stderr, flush=True)
    write_json(json_path, report)
    if not args.skip_timings:
        batch = timing_batch(train_set, batch_size, args.seed)
        report["step_timings"] = step_timings(config, marginals, batch, device, args)
        write_json(json_path, report)

    precision = requested = config.trainer.precision
    gaunt_bf16 = report.get("step_timings", {}).get("bf16", {}).get(TRAINED_ARM, {})
    if precision.startswith("bf16") and "error" in gaunt_bf16:
        precision = "32-true"
        report["precision_fallback"] = f"{requested} -> 32-true: the {TRAINED_ARM} step failed under bf16 " \
                                       f"autocast ({gaunt_bf16['error']})"
        print(f"gpu_train: {report['precision_fallback']}", file=sys.stderr, flush=True)
    minutes = max((args.budget_minutes - args.reserve_minutes) - elapsed_s() / 60, args.min_train_minutes)
    snapshots = args.snapshot_minutes if args.snapshot_minutes is not None else \
        sorted({round(minutes * f, 1) for f in (1 / 3, 2 / 3)} - {0.0}) if minutes >= 0.6 else []
    config = build_config(args, device, run_dir, precision=precision, max_minutes=round(minutes, 3),
                          snapshots=snapshots)
    report["training_config"] = {"precision": precision, "batch_size": config.batching.batch_size,
                                 "max_minutes": config.optim.max_minutes, "max_steps": config.optim.max_steps,
                                 "snapshot_minutes": snapshots, "lr": config.optim.lr,
                                 "dataset": f"{config.dataset.root}/processed/{config.dataset.name}",
                                 "num_workers": config.dataset.num_workers}
    print(f"gpu_train: training {TRAINED_ARM} for {minutes:.2f} min ({precision}, batch {batch_size})",
          flush=True)
    report["training"] = train_model(config, run_dir, out, len(train_set))
    write_json(json_path, report)

    graphs, seconds = sample_graphs(out / "last.ckpt", device, args.num_samples, args.sample_steps,
                                    args.sample_batch, args.seed)
    save_samples(graphs, out / "samples.npz", args.seed, args.sample_steps)
    report["sampling"] = {"molecules": len(graphs), "steps": args.sample_steps, "batch_size": args.sample_batch,
                          "seed": args.seed, "seconds": round(seconds, 3),
                          "molecules_per_s": round(len(graphs) / seconds, 2) if seconds > 0 else None,
                          "mean_heavy_atoms": round(statistics.fmean(g.num_atoms for g in graphs), 2),
                          "file": "samples.npz", "precision": "fp32"}
    report["quality"] = None
    finish_cmd = "`python scripts/gpu_train.py finish OUT --out DIR --evaluate`"
    report["quality_how"] = (f"no RDKit here: {finish_cmd} on a machine with RDKit (hydrogens in 3D, samples.sdf, "
                             "basic metrics)") if rdkit_version() is None else finish_cmd
    report["finished_utc"] = now_utc()
    report["wall_seconds"] = round(elapsed_s(), 1)
    write_json(json_path, report)
    return report


# ---------------------------------------------------------------------------------------------- finish
def finish(args: argparse.Namespace) -> dict:
    """``samples.npz`` of a run -> ``samples.sdf`` with the hydrogens ``molgen sample`` adds; ``--evaluate``
    scores them and writes the run's JSON with ``quality`` filled in to ``--out``."""
    from molgen.generate.generator import complete_hydrogens  # the completion `molgen sample` applies
    from molgen.generate.writing import write_samples

    src, out = Path(args.run_out), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    graphs = [complete_hydrogens(g) for g in read_samples(src / "samples.npz")]
    counts = write_samples(graphs, out / "samples.sdf")
    report = json.loads((src / "gpu_train.json").read_text()) if (src / "gpu_train.json").is_file() else {}
    report["finish"] = {"samples_sdf": str(out / "samples.sdf"), **counts,
                        "evaluate": f"molgen evaluate {out / 'samples.sdf'} --reference qm9_noh --metrics standard "
                                    f"--out {out / 'eval'}"}
    if args.evaluate:
        from molgen.eval import evaluate_sdf

        flat = evaluate_sdf(out / "samples.sdf", metrics="basic", reference=args.reference).flat()
        report["quality"] = {"metrics": "basic", **{k: round(float(flat[k]), 4) for k in QUALITY_KEYS if k in flat}}
    write_json(out / "gpu_train.json", report)
    return report


def minutes_list(text: str) -> list[float]:
    """``"2,4"`` -> [2.0, 4.0]; ``"none"`` or ``""`` -> []."""
    if text.strip().lower() in ("", "none"):
        return []
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected minutes like 2,4 or none, got {text!r}") from None


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run", help="timings, training and sampling (the device run)")
    r.add_argument("--out", default=os.environ.get("OUT") or "runs/gpu_out", help="output folder (default $OUT)")
    r.add_argument("--run-dir", default="runs/gpu_train", help="Lightning output_dir (replaced; not returned)")
    r.add_argument("--config", default=str(ROOT / "configs" / "gpu_train.yaml"),
                   help="the training config (default configs/gpu_train.yaml); trailing key=value items override it")
    r.add_argument("--budget-minutes", type=float, default=8.0, help="whole run, from the script's start")
    r.add_argument("--reserve-minutes", type=float, default=1.0, help="kept for sampling and writing")
    r.add_argument("--min-train-minutes", type=float, default=0.05)
    r.add_argument("--snapshot-minutes", type=minutes_list, default=None,
                   help="wall-clock snapshots, e.g. 2,4 ('none': none; default: at 1/3 and 2/3 of the training)")
    r.add_argument("--workers", type=int, default=None, help="DataLoader workers (default: CPUs - 2, max 8, on CUDA)")
    r.add_argument("--timing-steps", type=int, default=10)
    r.add_argument("--warmup", type=int, default=3)
    r.add_argument("--skip-timings", action="store_true")
    r.add_argument("--num-samples", type=int, default=1000)
    r.add_argument("--sample-steps", type=int, default=100)
    r.add_argument("--sample-batch", type=int, default=500)
    r.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: leave as is)")
    r.add_argument("--device", default=None, help="cuda or cpu (default: cuda when available)")
    r.add_argument("overrides", nargs="*", help="dotted config overrides key=value, applied last")
    f = sub.add_parser("finish", help="samples.npz -> samples.sdf with hydrogens (needs RDKit), optional quality")
    f.add_argument("run_out", help="the folder a run wrote (the device's $OUT, as returned)")
    f.add_argument("--out", default="runs/gpu_finish")
    f.add_argument("--evaluate", action="store_true", help="also score the samples (basic metrics)")
    f.add_argument("--reference", default=None, help="reference dataset for --evaluate (default none)")
    args = p.parse_args(argv)
    result = run(args) if args.command == "run" else finish(args)
    print(json.dumps(result, default=str))
    return result


if __name__ == "__main__":
    main()
