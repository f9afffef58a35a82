"""Gaunt tensor product vs e3nn's o3.TensorProduct over exactly the same (even, "uuu") paths.

For each L (L1 = L2 = Lout = L), both run on the same inputs in the same process, timings
interleaved (e3nn, gaunt, e3nn, gaunt, ...) and reduced to medians, so that load from other
processes on a shared machine hits both alike. Baseline: ``molgen.nn.gaunt_e3nn.e3nn_equivalent``
(e3nn "uuu" product, fixed path weights equal to the Gaunt constants, no learnable weights).
Candidate: ``GauntTensorProduct(L, L, L, C)`` with its learnable per-degree weights (extra work).

    python bench/tp.py            # L = 1..8, 4096 rows x 32 channels (L >= 7: --rows-large rows)
    python bench/tp.py --quick    # L = 1, 2, 4, 6 on 512 rows x 16 channels

Last line: one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch

from molgen.nn.gaunt import GauntTensorProduct
from molgen.nn.gaunt_e3nn import e3nn_equivalent
from molgen.nn.so3 import from_e3nn_layout, irreps_dim, to_e3nn_layout


def _time_once(fn, backward: bool, grad: torch.Tensor | None) -> float:
    start = time.perf_counter()
    if backward:
        fn().backward(grad)
    else:
        with torch.no_grad():
            fn()
    return time.perf_counter() - start


def _interleaved(fns: dict, backward: bool, grads: dict, repeats: int) -> dict[str, float]:
    for name, fn in fns.items():  # warm-up (allocator, e3nn codegen caches)
        _time_once(fn, backward, grads[name])
    samples = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            samples[name].append(_time_once(fn, backward, grads[name]))
    return {name: statistics.median(ts) for name, ts in samples.items()}


def bench_one(lmax: int, rows: int, channels: int, repeats: int) -> dict[str, float]:
    gen = torch.Generator().manual_seed(lmax)
    k = irreps_dim(lmax)
    gaunt = GauntTensorProduct(lmax, lmax, lmax, channels)
    e3nn = e3nn_equivalent(lmax, lmax, lmax, channels)
    x = torch.randn(rows, channels, k, generator=gen, requires_grad=True)
    y = torch.randn(rows, channels, k, generator=gen, requires_grad=True)
    xe = to_e3nn_layout(x).detach().requires_grad_(True)
    ye = to_e3nn_layout(y).detach().requires_grad_(True)
    grad = torch.randn(rows, channels, k, generator=gen)
    fns = {"e3nn": lambda: e3nn(xe, ye), "gaunt": lambda: gaunt(x, y)}
    grads = {"e3nn": to_e3nn_layout(grad), "gaunt": grad}
    with torch.no_grad():
        ref = from_e3nn_layout(e3nn(xe, ye), channels, lmax)
        rel_err = ((gaunt(x, y) - ref).abs().max() / ref.abs().max()).item()
    fwd = _interleaved(fns, False, grads, repeats)
    fwd_bwd = _interleaved(fns, True, grads, repeats)
    return {
        "L": lmax,
        "rows": rows,
        "grid_points": gaunt.num_grid_points,
        "rel_err": rel_err,
        "e3nn_fwd_ms": 1e3 * fwd["e3nn"],
        "gaunt_fwd_ms": 1e3 * fwd["gaunt"],
        "e3nn_fwd_bwd_ms": 1e3 * fwd_bwd["e3nn"],
        "gaunt_fwd_bwd_ms": 1e3 * fwd_bwd["gaunt"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="L = 1, 2, 4, 6 on 512 rows x 16 channels")
    parser.add_argument("--lmax", type=int, nargs="+", default=None, help="degrees to run (default 1..8)")
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--rows-large", type=int, default=1024, help="rows for L >= 7 (e3nn takes minutes)")
    parser.add_argument("--channels", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    if args.quick:
        args.rows, args.rows_large, args.channels = 512, 512, 16
    degrees = args.lmax or ([1, 2, 4, 6] if args.quick else list(range(1, 9)))
    torch.set_num_threads(args.threads)
    print(
        f"machine: {platform.processor() or platform.machine()}, torch {torch.__version__}, threads {args.threads}, "
        f"fp32, {args.channels} channels, median of {args.repeats} interleaved repeats"
    )
    print(
        f"{'L':>2} {'rows':>5} {'P':>4} {'e3nn fwd':>10} {'gaunt fwd':>10} {'ratio':>6} "
        f"{'e3nn f+b':>10} {'gaunt f+b':>10} {'ratio':>6} {'rel err':>8}"
    )
    results = []
    for lmax in degrees:
        rows = args.rows_large if lmax >= 7 else args.rows
        r = bench_one(lmax, rows, args.channels, args.repeats)
        results.append(r)
        print(
            f"{lmax:>2} {rows:>5} {r['grid_points']:>4} {r['e3nn_fwd_ms']:>8.1f}ms {r['gaunt_fwd_ms']:>8.1f}ms "
            f"{r['e3nn_fwd_ms'] / r['gaunt_fwd_ms']:>5.1f}x {r['e3nn_fwd_bwd_ms']:>8.1f}ms "
            f"{r['gaunt_fwd_bwd_ms']:>8.1f}ms {r['e3nn_fwd_bwd_ms'] / r['gaunt_fwd_bwd_ms']:>5.1f}x "
            f"{r['rel_err']:>8.1e}",
            flush=True,
        )
    figures = {"channels": args.channels, "threads": args.threads, "quick": args.quick}
    for r in results:
        figures[f"L{r['L']}_rows"] = r["rows"]
        figures[f"L{r['L']}_fwd_speedup_vs_e3nn"] = round(r["e3nn_fwd_ms"] / r["gaunt_fwd_ms"], 2)
        figures[f"L{r['L']}_fwd_bwd_speedup_vs_e3nn"] = round(r["e3nn_fwd_bwd_ms"] / r["gaunt_fwd_bwd_ms"], 2)
        figures[f"L{r['L']}_gaunt_fwd_bwd_ms"] = round(r["gaunt_fwd_bwd_ms"], 2)
        figures[f"L{r['L']}_max_rel_err"] = float(f"{r['rel_err']:.2e}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
