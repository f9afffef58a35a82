"""molgen/nn/scatter.py's hand-written segment ops vs torch_geometric.utils' scatter/softmax.

Candidate: ``torch_geometric.utils.scatter(src, index, 0, dim_size=size, reduce="sum" | "mean")`` and
``torch_geometric.utils.softmax(src, index, num_nodes=size)`` (torch-geometric 2.8; no torch_scatter or
pyg-lib installed, which the registry does not offer). Baseline: ``molgen.nn.scatter`` (``index_add_``
sums, ``scatter_reduce`` amax for the softmax). Two measurements, both forward + backward, timings of the
two sides interleaved and reduced to medians so that load from other processes hits both alike:

* each op alone on the shapes of the L = 1 denoiser on a batch of QM9-like molecules, fully connected
  (edge messages [E, S], vector messages [E, V, 3], attention logits [E, S], atoms -> graphs [N, S]);
* one denoiser training step (bench/train_models.py's step and sizes, L = 1) with molgen's ops, and with PyG's
  ops swapped into every molgen.nn module that uses them (outputs checked equal first).

    python bench/scatter.py            # 64 molecules, 4 layers 64/32/32, 7 steps
    python bench/scatter.py --quick    # 16 molecules, 2 layers 32/16/16, 3 steps

Ratios are molgen time / PyG time: above 1 means PyG is faster. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import platform
import statistics
import time
from collections.abc import Callable, Iterator

import torch
import torch_geometric
from torch_geometric import utils as pyg_utils
from train import qm9_like_molecule, training_step

from molgen.chem.molgraph import MolBatch
from molgen.config.schema import ModelConfig
from molgen.nn import aggregate, denoiser, eqgat, gaunt_messages, heads, norm, scatter
from molgen.nn.denoiser import EQGATDenoiser


def pyg_sum(src: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    return pyg_utils.scatter(src, index, 0, dim_size=size, reduce="sum")


def pyg_mean(src: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    return pyg_utils.scatter(src, index, 0, dim_size=size, reduce="mean")


def pyg_softmax(src: torch.Tensor, index: torch.Tensor, size: int) -> torch.Tensor:
    return pyg_utils.softmax(src, index, num_nodes=size, dim=0)


def pyg_count(index: torch.Tensor, size: int, dtype: torch.dtype) -> torch.Tensor:
    return pyg_sum(torch.ones(index.shape[0], dtype=dtype, device=index.device), index, size).clamp(min=1.0)


PYG_OPS = {"segment_sum": pyg_sum, "segment_mean": pyg_mean, "segment_softmax": pyg_softmax,
           "segment_count": pyg_count}
USERS = (aggregate, denoiser, eqgat, gaunt_messages, heads, norm)  # modules that import molgen.nn.scatter ops


@contextlib.contextmanager
def pyg_ops() -> Iterator[None]:
    """Swap PyG's ops into every molgen.nn module that imported molgen's (restored on exit)."""
    saved = [(m, name, getattr(m, name)) for m in USERS for name in PYG_OPS if hasattr(m, name)]
    try:
        for module, name, _ in saved:
            setattr(module, name, PYG_OPS[name])
        yield
    finally:
        for module, name, fn in saved:
            setattr(module, name, fn)


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def interleaved(pairs: dict[str, tuple[Callable[[], None], Callable[[], None]]], repeats: int) -> dict[str, dict]:
    """Median seconds of (molgen, pyg) for each named pair, the two sides alternating."""
    out = {}
    for name, (ours, theirs) in pairs.items():
        ours(), theirs()  # warm-up
        a, b = [], []
        for _ in range(repeats):
            a.append(timed(ours))
            b.append(timed(theirs))
        out[name] = {"molgen_ms": statistics.median(a) * 1e3, "pyg_ms": statistics.median(b) * 1e3,
                     "ratio": statistics.median(a) / statistics.median(b)}
        print(f"{name:>22}: molgen {out[name]['molgen_ms']:8.2f} ms  pyg {out[name]['pyg_ms']:8.2f} ms  "
              f"molgen/pyg {out[name]['ratio']:.2f}")
    return out


def op_pairs(batch: MolBatch, s: int, v: int) -> dict:
    """Forward + backward of each op on the denoiser's shapes; checks molgen and PyG agree first."""
    gen = torch.Generator().manual_seed(1)
    edges = batch.fully_connected_edges()  # [2, E]
    n, g, e = int(batch.ptr[-1]), batch.num_graphs, edges.shape[1]
    dst = edges[1]
    cases = {
        "sum [E,S]->[N,S]": (torch.randn(e, s, generator=gen), dst, n, "segment_sum"),
        "sum [E,V,3]->[N,V,3]": (torch.randn(e, v, 3, generator=gen), dst, n, "segment_sum"),
        "softmax [E,S] by dst": (torch.randn(e, s, generator=gen), dst, n, "segment_softmax"),
        "mean [N,S]->[G,S]": (torch.randn(n, s, generator=gen), batch.batch, g, "segment_mean"),
    }
    pairs = {}
    for name, (src, index, size, op) in cases.items():
        ours, theirs = getattr(scatter, op), PYG_OPS[op]
        diff = float((ours(src, index, size) - theirs(src, index, size)).abs().max())
        if diff > 1e-5:
            raise AssertionError(f"{name}: molgen and PyG differ by {diff}")
        x = src.clone().requires_grad_(True)
        grad = torch.randn(ours(src, index, size).shape, generator=gen)
        pairs[name] = (lambda f=ours, x=x, i=index, k=size, gr=grad: f(x, i, k).backward(gr),
                       lambda f=theirs, x=x, i=index, k=size, gr=grad: f(x, i, k).backward(gr))
    return pairs


def step_pair(sizes: dict, clean: MolBatch, noisy: MolBatch) -> dict:
    """One denoiser training step with molgen's ops and with PyG's (two models from the same seed)."""
    t = torch.rand(noisy.num_graphs, generator=torch.Generator().manual_seed(2))
    models = []
    for _ in range(2):
        torch.manual_seed(0)
        model = EQGATDenoiser(ModelConfig(**sizes, lmax=1))
        models.append((model, torch.optim.Adam(model.parameters(), lr=1e-4)))
    with torch.no_grad():
        ours = models[0][0](noisy, t)
        with pyg_ops():
            theirs = models[1][0](noisy, t)
    diff = max(float((a - b).abs().max()) for a, b in
               ((ours.pos, theirs.pos), (ours.atom_logits, theirs.atom_logits), (ours.bond_logits, theirs.bond_logits)))
    if diff > 1e-4:
        raise AssertionError(f"denoiser outputs differ by {diff} with PyG's ops")
    print(f"denoiser outputs, molgen vs PyG ops: max abs difference {diff:.1e}")

    def with_pyg() -> None:
        with pyg_ops():
            training_step(*models[1], noisy, clean, t)

    return {"denoiser training step": (lambda: training_step(*models[0], noisy, clean, t), with_pyg)}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        sizes, num_mols, op_repeats, steps = dict(num_layers=2, scalar_dim=32, vector_dim=16, edge_dim=16), 16, 5, 3
    else:
        sizes, num_mols, op_repeats, steps = dict(num_layers=4, scalar_dim=64, vector_dim=32, edge_dim=32), 64, 21, 7
    gen = torch.Generator().manual_seed(0)
    clean = MolBatch.from_graphs([qm9_like_molecule(gen) for _ in range(num_mols)])
    noisy = MolBatch(pos=clean.pos + 0.3 * torch.randn(clean.pos.shape, generator=gen), atom_types=clean.atom_types,
                     charges=clean.charges, bond_index=clean.bond_index, bond_types=clean.bond_types,
                     batch=clean.batch, ptr=clean.ptr)
    edges = int(clean.fully_connected_edges().shape[1])
    print(f"batch: {num_mols} molecules, {int(clean.ptr[-1])} atoms, {edges} edges; sizes {sizes}; "
          f"{args.threads} thread(s); torch {torch.__version__}, torch-geometric {torch_geometric.__version__}; "
          f"{platform.machine()}")
    ops = interleaved(op_pairs(clean, sizes["scalar_dim"], sizes["vector_dim"]), op_repeats)
    step = interleaved(step_pair(sizes, clean, noisy), steps)["denoiser training step"]
    figures = {"bench": "scatter", "quick": args.quick, "threads": args.threads, "molecules": num_mols,
               "atoms": int(clean.ptr[-1]), "edges": edges, **sizes,
               "torch_geometric": torch_geometric.__version__,
               **{f"op {k} molgen_over_pyg": round(v["ratio"], 3) for k, v in ops.items()},
               "step_molgen_ms": round(step["molgen_ms"], 1), "step_pyg_ms": round(step["pyg_ms"], 1),
               "step_molgen_over_pyg": round(step["ratio"], 3)}
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
