"""Training-step timings of the GPU run: L = 1, Gaunt L = 2 and e3nn L = 2 at one size, fp32 and bf16 autocast."""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import time
from typing import Any

ARMS: dict[str, dict[str, Any]] = {  # the timed models: the training model's sizes with these settings
    "L1": {"lmax": 1, "tensor_product": None},
    "L2_gaunt": {"lmax": 2, "tensor_product": "gaunt"},
    "L2_e3nn": {"lmax": 2, "tensor_product": "e3nn"},
}
TRAINED_ARM = "L2_gaunt"
PRECISIONS = {"fp32": False, "bf16": True}  # timing name -> bf16 autocast

def synchronize(device: Any) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)



def time_training_step(config: Any, marginals: Any, batch: Any, device: Any, bf16: bool, steps: int,
                       warmup: int, seed: int) -> dict:
    """Median wall time of one optimizer step of ``config``'s model on ``batch`` (see the module docstring)."""
    import torch

    from molgen.model import build_denoiser, build_diffusion

    torch.manual_seed(seed)
    denoiser = build_denoiser(config).to(device).train()
    diffusion = build_diffusion(config, marginals)
    o = config.optim
    optimizer = torch.optim.AdamW(denoiser.parameters(), lr=o.lr, betas=tuple(o.betas), weight_decay=o.weight_decay)
    batch = batch.to(device)

    def step() -> float:
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=bf16):
            loss = diffusion.training_loss(denoiser, batch)["loss"]
        loss.backward()
        if o.grad_clip:
            torch.nn.utils.clip_grad_norm_(denoiser.parameters(), o.grad_clip)
        optimizer.step()
        return float(loss.detach())

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    for _ in range(warmup):
        step()
    synchronize(device)
    times, losses = [], []
    for _ in range(steps):
        start = time.perf_counter()
        losses.append(step())
        synchronize(device)
        times.append(time.perf_counter() - start)
    median = statistics.median(times)
    result = {"step_ms": round(median * 1e3, 3), "min_ms": round(min(times) * 1e3, 3),
              "max_ms": round(max(times) * 1e3, 3), "steps_per_s": round(1 / median, 3),
              "molecules_per_s": round(batch.num_graphs / median, 1),
              "atoms_per_s": round(int(batch.ptr[-1]) / median, 1), "loss_finite": all(map(math.isfinite, losses))}
    if device.type == "cuda":
        result["peak_memory_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
    return result


def step_timings(config: Any, marginals: Any, batch: Any, device: Any, args: argparse.Namespace) -> dict:
    """Every arm of :data:`ARMS` in every precision of :data:`PRECISIONS`; a failure is recorded, not raised."""
    import torch

    from molgen.model import build_denoiser

    out: dict[str, Any] = {"batch": {"molecules": batch.num_graphs, "atoms": int(batch.ptr[-1]),
                                     "bonds": int(batch.bond_types.numel())},
                           "warmup": args.warmup, "steps": args.timing_steps, "params": {}}
    for arm, settings in ARMS.items():
        arm_config = dataclasses.replace(config, model=dataclasses.replace(config.model, **settings))
        out["params"][arm] = sum(p.numel() for p in build_denoiser(arm_config).parameters())
        for name, bf16 in PRECISIONS.items():
            try:
                result = time_training_step(arm_config, marginals, batch, device, bf16, args.timing_steps,
                                            args.warmup, args.seed)
            except (RuntimeError, ValueError, TypeError, NotImplementedError) as exc:  # recorded, the run goes on
                result = {"error": f"{type(exc).__name__}: {str(exc).splitlines()[0][:300]}"}
            out.setdefault(name, {})[arm] = result
            shown = f"{result['step_ms']:9.2f} ms/step {result['molecules_per_s']:10.1f} mol/s" \
                if "step_ms" in result else result["error"]
            print(f"timing {arm:>8} {name}: {shown}", flush=True)
            if device.type == "cuda":
                torch.cuda.empty_cache()
    for name in PRECISIONS:
        rows = out[name]
        if all("step_ms" in rows.get(a, {}) for a in ("L2_gaunt", "L2_e3nn")):
            rows["gaunt_over_e3nn_speed"] = round(rows["L2_e3nn"]["step_ms"] / rows["L2_gaunt"]["step_ms"], 3)
        if all("step_ms" in rows.get(a, {}) for a in ("L2_gaunt", "L1")):
            rows["gaunt_over_l1_time"] = round(rows["L2_gaunt"]["step_ms"] / rows["L1"]["step_ms"], 3)
    return out
