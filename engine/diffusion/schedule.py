"""Timesteps and per-step coefficients over the 50-step LCM schedule.

Users pick a ``strength`` (0..1) and a number of ``steps``; power users may give
a ``t_index_list`` directly (indices into the 50-step LCM schedule, the form
StreamDiffusion uses).  Strength maps onto indices with LCM's own img2img rule,
so DreamDeck at strength *s* and *n* steps denoises at exactly the timesteps
diffusers' LCM img2img pipeline uses for the same *s* and *n*.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

ORIGINAL_STEPS = 50


def _lcm(config: dict):
    from diffusers import LCMScheduler

    return LCMScheduler.from_config(config)


def base_timesteps(config: dict) -> list[int]:
    """The 50-step LCM schedule, highest timestep first."""
    sched = _lcm(config)
    sched.set_timesteps(ORIGINAL_STEPS)
    return [int(t) for t in sched.timesteps]


def min_strength(steps: int) -> float:
    return steps / ORIGINAL_STEPS


def t_index_for_strength(config: dict, strength: float, steps: int) -> list[int]:
    """Indices into the 50-step schedule for ``steps`` steps at ``strength``.

    Strength below ``steps / 50`` leaves too few timesteps; it is raised to that
    floor rather than refused, since a fader at zero must never stop the show.
    """
    strength = min(1.0, max(float(strength), min_strength(steps)))
    sched = _lcm(config)
    sched.set_timesteps(steps, strength=strength)
    base = base_timesteps(config)
    return [base.index(int(t)) for t in sched.timesteps]


@dataclass(frozen=True)
class StepPlan:
    """Per-step constants, each shaped (n, 1, 1, 1) for broadcasting over latents."""

    t_index: tuple[int, ...]
    timesteps: torch.Tensor  # (n,) long
    alpha: torch.Tensor  # sqrt(alpha_cumprod_t)
    beta: torch.Tensor  # sqrt(1 - alpha_cumprod_t)
    c_skip: torch.Tensor
    c_out: torch.Tensor

    @property
    def steps(self) -> int:
        return len(self.t_index)


def step_plan(config: dict, t_index: Sequence[int], device="cpu", dtype=torch.float32) -> StepPlan:
    if not t_index:
        raise ValueError("t_index_list needs at least one step")
    base = base_timesteps(config)
    for i in t_index:
        if not 0 <= i < len(base):
            raise ValueError(f"t_index {i} is outside the {len(base)}-step schedule (0..{len(base) - 1})")
    if list(t_index) != sorted(t_index) or len(set(t_index)) != len(t_index):
        raise ValueError(f"t_index_list must rise strictly (noisiest first); got {list(t_index)}")
    sched = _lcm(config)
    ts = [base[i] for i in t_index]
    acp = sched.alphas_cumprod
    alpha = torch.stack([acp[t].sqrt() for t in ts])
    beta = torch.stack([(1 - acp[t]).sqrt() for t in ts])
    scal = [sched.get_scalings_for_boundary_condition_discrete(t) for t in ts]
    c_skip = torch.tensor([s for s, _ in scal], dtype=torch.float64)
    c_out = torch.tensor([o for _, o in scal], dtype=torch.float64)

    def col(x):
        return x.to(device=device, dtype=dtype).view(-1, 1, 1, 1)

    return StepPlan(
        t_index=tuple(int(i) for i in t_index),
        timesteps=torch.tensor(ts, dtype=torch.long, device=device),
        alpha=col(alpha),
        beta=col(beta),
        c_skip=col(c_skip),
        c_out=col(c_out),
    )
