"""Training throughput of the EQGAT denoiser: L = 1 (EQGAT-diff), L = 2 Gaunt, L = 2 e3nn.

One optimizer step = forward on a batch of QM9-like molecules + MSE(coordinates) + cross-entropy
(atom types, charges, bonds) + backward + Adam step; all three models have identical sizes.
Baseline for the Gaunt ratio: the same L = 2 model with e3nn's o3.TensorProduct in the same places.

    python bench/train_models.py          # 4 layers, 64/32/32 channels, 64 molecules of ~18 atoms
    python bench/train_models.py --quick  # tiny sizes, a few seconds

The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
from torch.nn import functional as F

from molgen.chem.molgraph import MolBatch, MolGraph
from molgen.chem.vocab import NUM_BOND_TYPES, charge_to_index, element_index
from molgen.config.schema import ModelConfig
from molgen.nn.denoiser import EQGATDenoiser

QM9_ELEMENTS = [element_index(s) for s in ("H", "C", "N", "O", "F")]
QM9_ELEMENT_WEIGHTS = torch.tensor([0.51, 0.35, 0.06, 0.08, 0.002])  # approximate QM9 composition


def qm9_like_molecule(gen: torch.Generator) -> MolGraph:
    """Random molecule of 12..25 atoms (mean ~18, as QM9 with H), QM9 elements, bonds between near atoms."""
    n = int(torch.randint(12, 26, (1,), generator=gen))
    pos = torch.randn(n, 3, generator=gen) * 1.6
    types = torch.tensor(QM9_ELEMENTS)[torch.multinomial(QM9_ELEMENT_WEIGHTS, n, replacement=True, generator=gen)]
    i, j = torch.triu_indices(n, n, offset=1)
    near = (pos[i] - pos[j]).norm(dim=-1) < 1.6
    bond_index = torch.stack([i[near], j[near]])
    bond_types = torch.randint(1, NUM_BOND_TYPES, (bond_index.shape[1],), generator=gen)
    return MolGraph(pos=pos, atom_types=types, charges=torch.zeros(n, dtype=torch.long), bond_index=bond_index,
                    bond_types=bond_types).centered()


def training_step(model: EQGATDenoiser, opt: torch.optim.Optimizer, noisy: MolBatch, clean: MolBatch,
                  t: torch.Tensor) -> float:
    opt.zero_grad(set_to_none=True)
    out = model(noisy, t)
    loss = (F.mse_loss(out.pos, clean.pos) + F.cross_entropy(out.atom_logits, clean.atom_types)
            + F.cross_entropy(out.charge_logits, charge_to_index(clean.charges))
            + F.cross_entropy(out.bond_logits, clean.edge_bond_types(out.edge_index)))
    loss.backward()
    opt.step()
    return float(loss.detach())


def measure(configs: dict[str, dict], noisy: MolBatch, clean: MolBatch, steps: int) -> dict[str, dict]:
    """Median step time of each model; steps are interleaved round-robin so all see the same machine load."""
    models, times = {}, {name: [] for name in configs}
    t = torch.rand(noisy.num_graphs, generator=torch.Generator().manual_seed(1))
    for name, kwargs in configs.items():
        torch.manual_seed(0)
        model = EQGATDenoiser(ModelConfig(**kwargs))
        models[name] = (model, torch.optim.Adam(model.parameters(), lr=1e-4))
        training_step(*models[name], noisy, clean, t)  # warm-up (e3nn code generation, allocator)
    for _ in range(steps):
        for name, (model, opt) in models.items():
            start = time.perf_counter()
            training_step(model, opt, noisy, clean, t)
            times[name].append(time.perf_counter() - start)
    results = {}
    for name, (model, _) in models.items():
        step_s = statistics.median(times[name])
        params = sum(p.numel() for p in model.parameters())
        results[name] = {"step_s": step_s, "mol_per_s": noisy.num_graphs / step_s, "params": params}
        print(f"{name:>10}: {step_s * 1e3:9.1f} ms/step  {results[name]['mol_per_s']:8.1f} mol/s  {params:,} params")
    return results


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke run")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default 1)")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    if args.quick:
        sizes = dict(num_layers=2, scalar_dim=32, vector_dim=16, edge_dim=16)
        num_mols, steps = 16, 3
    else:
        sizes = dict(num_layers=4, scalar_dim=64, vector_dim=32, edge_dim=32)
        num_mols, steps = 64, 5
    gen = torch.Generator().manual_seed(0)
    clean = MolBatch.from_graphs([qm9_like_molecule(gen) for _ in range(num_mols)])
    noisy = MolBatch(pos=clean.pos + 0.3 * torch.randn(clean.pos.shape, generator=gen), atom_types=clean.atom_types,
                     charges=clean.charges, bond_index=clean.bond_index, bond_types=clean.bond_types,
                     batch=clean.batch, ptr=clean.ptr)
    print(f"batch: {num_mols} molecules, {int(clean.ptr[-1])} atoms (mean {float(clean.num_atoms.float().mean()):.1f}),"
          f" sizes {sizes}, {args.threads} thread(s), {platform.processor() or platform.machine()}")
    runs = measure({"L1": dict(sizes, lmax=1), "L2_gaunt": dict(sizes, lmax=2, tensor_product="gaunt"),
                    "L2_e3nn": dict(sizes, lmax=2, tensor_product="e3nn")}, noisy, clean, steps)
    speedup = runs["L2_gaunt"]["mol_per_s"] / runs["L2_e3nn"]["mol_per_s"]
    cost_l2 = runs["L1"]["mol_per_s"] / runs["L2_gaunt"]["mol_per_s"]
    print(f"L2 gaunt vs L2 e3nn (baseline): {speedup:.2f}x throughput")
    print(f"L2 gaunt vs L1 EQGAT-diff: {1 / cost_l2:.2f}x throughput")
    figures = {"bench": "train", "quick": args.quick, "threads": args.threads, "molecules": num_mols,
               "atoms": int(clean.ptr[-1]), **sizes,
               **{f"{k}_mol_per_s": round(v["mol_per_s"], 2) for k, v in runs.items()},
               **{f"{k}_params": v["params"] for k, v in runs.items()},
               "gaunt_over_e3nn": round(speedup, 3), "gaunt_over_l1": round(1 / cost_l2, 3)}
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
