"""Importance-sampling guidance during the reverse process (PILOT-style): a sampler :class:`StepHook`.

The G molecules of a batch are particles. After a reverse jump t -> s the network's clean
estimate x̂0(x_t) of particle i is scored, r_i = r(x̂0_i) (a :class:`~molgen.generate.scorers.MoleculeScorer`,
higher = better), and the particles are given importance weights

    w_i = exp(r_i / λ) / Σ_j exp(r_j / λ)        (λ: ``temperature``, in the score's units)

computed stably as exp((r_i - max r) / λ); a molecule that cannot be scored (NaN) gets w_i = 0,
and a group where none can be scored keeps uniform weights. Resampling draws G new particles
with probabilities w, so good molecules are copied and poor ones dropped while the remaining
jumps diversify the copies again: the batch is pushed towards p(x) exp(r(x) / λ), the model's
distribution tilted by the score, with x̂0 standing in for the unknown final molecule (PILOT,
Cremer et al. 2024; the same idea as sequential Monte Carlo / Feynman-Kac steering). Each
resampling multiplies the tilt again: K resamplings of similar scores act roughly like exp(K r / λ),
so ``every`` and the window [``stop``, ``start``] set the strength as much as λ does.

Systematic resampling (one uniform U from the sampler's generator, u_k = (U + k) / n for
k = 0..n-1, particle i taken for every u_k in its slice of the cumulative weights) gives each
particle floor(n w_i) or ceil(n w_i) copies: unbiased (n w_i copies on average) and usually the
least noisy of the common schemes; uniform weights return every particle exactly once.

The effective sample size ESS = 1 / Σ w_i² lies in [1, n]: n for uniform weights, 1 when one
particle holds all the weight. A group is resampled only when ESS / n <= ``ess_threshold``
(default 0.5, the usual adaptive rule; 1 resamples at every guided jump). Resampling trades
diversity for score: on the shipped QM9 heavy-atom model (32 molecules, 50 jumps, QED, λ = 0.05)
mean QED rises from 0.45-0.47 unguided to 0.51-0.58 with the defaults (8 seeds); resampling at
every jump reaches 0.60-0.62 but leaves 13-22 % distinct molecules, against 53-75 % with the
defaults and 84-97 % unguided (3 seeds).

Groups: molecules whose ``props`` carry the same ``"pocket"`` value (one pocket per group) are
weighted and resampled among themselves only; molecules without that key form one group.
Molecules keep their slot: slot k of a group receives a copy of some member of the same group.

Shape symbols: N atoms, G graphs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import torch

from molgen.diffusion.reverse import StepContext
from molgen.generate.options import Guidance
from molgen.generate.scorers import MoleculeScorer

#: ``props`` key whose value defines the groups molecules are resampled within.
GROUP_KEY = "pocket"


def importance_weights(scores: np.ndarray, temperature: float) -> np.ndarray:
    """Normalised weights [n] ∝ exp(scores / temperature) for ``scores`` [n]; NaN -> 0, all NaN -> uniform.

    A score of +inf takes all the weight (shared equally among several +inf).
    """
    s = np.asarray(scores, dtype=np.float64)
    if np.isposinf(s).any():
        w = np.isposinf(s).astype(np.float64)
    else:
        ok = np.isfinite(s)
        if not ok.any():
            return np.full(s.shape, 1.0 / s.size)
        w = np.zeros(s.shape)
        w[ok] = np.exp((s[ok] - s[ok].max()) / temperature)
    return w / w.sum()


def effective_sample_size(weights: np.ndarray) -> float:
    """1 / Σ w² of normalised ``weights`` [n]: in [1, n]."""
    w = np.asarray(weights, dtype=np.float64)
    return float(1.0 / np.square(w).sum())


def systematic_resample(weights: np.ndarray, generator: torch.Generator | None = None) -> np.ndarray:
    """[n] indices drawn by systematic resampling of normalised ``weights`` [n] (one uniform from ``generator``)."""
    w = np.asarray(weights, dtype=np.float64)
    n = w.size
    device = generator.device if generator is not None else "cpu"
    offset = float(torch.rand(1, generator=generator, device=device).item())
    points = (offset + np.arange(n)) / n  # [n] in [0, 1)
    cumulative = np.cumsum(w)
    cumulative[-1] = 1.0  # no point may fall past the end through rounding
    return np.minimum(np.searchsorted(cumulative, points, side="right"), n - 1)


def context_groups(props: list[dict[str, Any]], key: str = GROUP_KEY) -> list[np.ndarray]:
    """Index arrays of the molecules sharing ``props[key]`` (absent key: one group), in first-seen order."""
    groups: dict[Any, list[int]] = {}
    for k, p in enumerate(props):
        value = p.get(key)
        try:
            hash(value)
        except TypeError:  # e.g. a list or array: compare by its text
            value = repr(value)
        groups.setdefault(value, []).append(k)
    return [np.asarray(members, dtype=np.int64) for members in groups.values()]


def resample_groups(scores: np.ndarray, groups: list[np.ndarray], temperature: float, ess_threshold: float,
                    generator: torch.Generator | None = None) -> tuple[np.ndarray, float, bool]:
    """(index [G], ESS / G summed over groups, whether any group resampled) for ``scores`` [G]."""
    index = np.arange(len(scores))
    ess_total, resampled = 0.0, False
    for members in groups:
        w = importance_weights(scores[members], temperature)
        ess = effective_sample_size(w)
        ess_total += ess
        if ess / members.size <= ess_threshold:
            index[members] = members[systematic_resample(w, generator)]
            resampled = True
    return index, ess_total / len(scores), resampled


class ImportanceGuide:
    """StepHook resampling one chunk by ``exp(score / temperature)`` of its clean estimates (module docstring).

    ``settings``: a :class:`~molgen.generate.options.Guidance` (checked there); its ``temperature`` None takes
    the scorer's own (QED/SA 0.05, Vina 1 kcal/mol). Guided jumps are those t -> s with
    ``stop * T <= t <= start * T`` (fractions of the trained ``num_steps`` T), then every ``every``-th of them
    counting from the first. One guide serves one chunk (``run`` labels it); ``history`` gets one dict per
    scored jump: run, t, s, mean/max score before and mean after, scored fraction, ESS / G, resampled.
    """

    def __init__(self, scorer: MoleculeScorer, settings: Guidance, num_steps: int, run: int = 0,
                 group_key: str = GROUP_KEY):
        self.scorer, self.settings, self.num_steps, self.run = scorer, settings, num_steps, run
        own = getattr(scorer, "temperature", 1.0)
        self.temperature = float(own if settings.temperature is None else settings.temperature)
        self.group_key = group_key
        self.history: list[dict[str, Any]] = []
        self._window_jumps = 0

    @property
    def num_resamplings(self) -> int:
        """How many guided jumps resampled at least one group."""
        return sum(entry["resampled"] for entry in self.history)

    def __call__(self, context: StepContext) -> None:
        """Score ``context.x0``'s G molecules and resample ``context.state`` within groups (or leave it)."""
        if not self._guided(context.t):
            return
        state = context.state
        scores = np.asarray(self.scorer.score(context.x0.to_graphs()), dtype=np.float64)  # [G]
        groups = context_groups(state.props, self.group_key)
        index, ess, resampled = resample_groups(scores, groups, self.temperature, self.settings.ess_threshold,
                                                context.generator)
        self._record(context.t, context.s, scores, index, ess, resampled)
        if resampled:
            chosen = torch.as_tensor(index)
            context.state = replace(state.select(chosen), names=list(state.names))
            context.x0 = replace(context.x0.select(chosen), names=list(context.x0.names))

    def _guided(self, t: int) -> bool:
        """Whether the jump from ``t`` is guided (in the window, and the every-th of the window's jumps)."""
        if not self.settings.stop * self.num_steps <= t <= self.settings.start * self.num_steps:
            return False
        self._window_jumps += 1
        return (self._window_jumps - 1) % self.settings.every == 0

    def _record(self, t: int, s: int, scores: np.ndarray, index: np.ndarray, ess: float, resampled: bool) -> None:
        scored = ~np.isnan(scores)
        after = scores[index]
        self.history.append({
            "run": self.run, "t": int(t), "s": int(s),
            "mean_score": float(np.nanmean(scores)) if scored.any() else float("nan"),
            "max_score": float(np.nanmax(scores)) if scored.any() else float("nan"),
            "mean_score_after": float(np.nanmean(after)) if (~np.isnan(after)).any() else float("nan"),
            "scored_fraction": float(scored.mean()), "ess_fraction": ess, "resampled": bool(resampled),
        })
