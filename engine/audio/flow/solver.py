"""The ODE solver: midpoint steps after an early skip.

The flow runs from the prior at t = 0 (the HRTF render's spectrum) to the binaural
spectrum at t = 1 along straight paths, x_t = (1 - t) x0 + t x1, and the network
predicts the velocity x1 - x0.  Because the prior here is almost deterministic
(a small sigma), the velocity at t = 0 already points at the conditional mean of
x1, and the early part of the path is nearly straight: one Euler step from 0 to
``t_skip`` (one evaluation) replaces the early steps, and the evaluations left are
spent on midpoint steps (two evaluations each) over [t_skip, 1], where the path
bends.  An odd evaluation left over becomes a final Euler step.

``velocity(x, t, k)`` gets the evaluation index ``k`` so a streaming caller can give
each evaluation its own cache (see :class:`engine.audio.flow.unet.CacheBank`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Velocity = Callable[[torch.Tensor, float, int], torch.Tensor]


def schedule(nfe: int, t_skip: float = 0.5, t_end: float = 1.0) -> list[tuple[str, float, float]]:
    """[(kind, t_from, t_to)]: 'euler' costs one evaluation, 'midpoint' two; total == nfe.

    ``t_end`` < 1 stops the flow early (every time scaled by it): on straight paths that
    is x0 + t_end * (x1_hat - x0), a shrinkage towards the prior chosen on validation data."""
    if nfe < 1:
        raise ValueError(f"nfe must be at least 1; got {nfe}")
    if t_end != 1.0:
        return [(k, a * t_end, b * t_end) for k, a, b in schedule(nfe, t_skip)]
    if nfe == 1:
        return [("euler", 0.0, 1.0)]
    if nfe == 2:
        return [("midpoint", 0.0, 1.0)]
    steps: list[tuple[str, float, float]] = [("euler", 0.0, t_skip)]
    left = nfe - 1
    n_mid, odd = divmod(left, 2)
    edges = torch.linspace(t_skip, 1.0, n_mid + odd + 1).tolist()
    for i in range(n_mid):
        steps.append(("midpoint", edges[i], edges[i + 1]))
    if odd:
        steps.append(("euler", edges[-2], edges[-1]))
    return steps


def solve(velocity: Velocity, x0: torch.Tensor, nfe: int, t_skip: float = 0.5, t_end: float = 1.0) -> torch.Tensor:
    x, k = x0, 0
    for kind, a, b in schedule(nfe, t_skip, t_end):
        h = b - a
        if kind == "euler":
            x = x + h * velocity(x, a, k)
            k += 1
        else:
            v = velocity(x, a, k)
            x = x + h * velocity(x + 0.5 * h * v, a + 0.5 * h, k + 1)
            k += 2
    return x
