"""EQGAT-diff's time-dependent loss weighting and per-modality loss weights.

EQGAT-diff (Le et al., ICLR 2024) weights every loss term of a molecule noised
to step t by the clipped signal-to-noise ratio of the atom-type schedule,

    w(t) = clip(SNR(t), 0.05, 1.5),    SNR(t) = alpha_bar_t / (1 - alpha_bar_t),

and combines the modalities with per-modality weights (``diffusion.weight_*`` in the
config; defaults coords 3.0, atom types 0.4, charges 1.0, bonds 2.0, as its published scripts).
"""

from __future__ import annotations

from torch import Tensor

from molgen.diffusion.schedules import CosineSchedule


def snr_weight(schedule: CosineSchedule, k: Tensor, clamp_min: float = 0.05, clamp_max: float = 1.5) -> Tensor:
    """w(t) = clip(SNR(t), clamp_min, clamp_max) for integer steps k [G] -> [G] float64."""
    if not 0 <= clamp_min <= clamp_max:
        raise ValueError(f"need 0 <= clamp_min <= clamp_max, got {clamp_min}, {clamp_max}")
    return schedule.snr(k).clamp(min=clamp_min, max=clamp_max)
