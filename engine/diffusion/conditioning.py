"""Prompt and seed conditioning: cached embeddings and noises, blended by weight.

Each distinct prompt text is encoded once and kept (LRU), so moving a weight
fader, or going back to a prompt seen before, costs no text-encoder pass; the
same holds for seed noises.  Blends are linear (weights normalised) or
spherical (slerp), folding the prompts in one at a time so that each partial
blend stays on the sphere.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Callable, Hashable, Sequence

import torch

from .unet_runner import Condition


class LRU:
    def __init__(self, capacity: int):
        self.capacity = capacity
        self._d: OrderedDict = OrderedDict()

    def get(self, key: Hashable, make: Callable):
        if key in self._d:
            self._d.move_to_end(key)
            return self._d[key]
        value = make()
        self._d[key] = value
        while len(self._d) > self.capacity:
            self._d.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._d)


# -- blending ---------------------------------------------------------------------
def slerp(a: torch.Tensor, b: torch.Tensor, t: float, dim: int = -1) -> torch.Tensor:
    """Spherical interpolation along ``dim``; endpoints are returned exactly."""
    if t <= 0.0:
        return a
    if t >= 1.0:
        return b
    a64, b64 = a.double(), b.double()
    an = a64 / a64.norm(dim=dim, keepdim=True).clamp_min(1e-12)
    bn = b64 / b64.norm(dim=dim, keepdim=True).clamp_min(1e-12)
    dot = (an * bn).sum(dim=dim, keepdim=True).clamp(-1.0, 1.0)
    omega = torch.acos(dot)
    so = torch.sin(omega)
    near = so.abs() < 1e-6  # (anti)parallel vectors: fall back to a straight line
    safe = torch.where(near, torch.ones_like(so), so)
    wa = torch.where(near, torch.full_like(so, 1 - t), torch.sin((1 - t) * omega) / safe)
    wb = torch.where(near, torch.full_like(so, t), torch.sin(t * omega) / safe)
    return (wa * a64 + wb * b64).to(a.dtype)


def _active(weights: Sequence[float]) -> list[int]:
    idx = [i for i, w in enumerate(weights) if w > 0]
    if not idx:
        raise ValueError("at least one weight must be above zero")
    return idx


def blend_tensors(items: Sequence[torch.Tensor], weights: Sequence[float], mode: str, dim: int = -1, unit_variance: bool = False) -> torch.Tensor:
    """Blend tensors by weight.

    ``linear`` is the weight-normalised sum; with ``unit_variance`` (noises) it
    is divided by the root of the summed squared weights instead, so mixed
    Gaussian noise keeps unit variance.  ``slerp`` folds items in one by one,
    item k entering with t = w_k / (w_1 + ... + w_k).
    """
    idx = _active(weights)
    if len(idx) == 1:
        return items[idx[0]]
    if mode == "linear":
        w = torch.tensor([weights[i] for i in idx], dtype=torch.float64)
        norm = w.pow(2).sum().sqrt() if unit_variance else w.sum()
        acc = sum(items[i].double() * (weights[i] / float(norm)) for i in idx)
        return acc.to(items[idx[0]].dtype)
    if mode == "slerp":
        acc, total = items[idx[0]], weights[idx[0]]
        for i in idx[1:]:
            total += weights[i]
            acc = slerp(acc, items[i], weights[i] / total, dim=dim)
        return acc
    raise ValueError(f"blend mode {mode!r} is not linear or slerp")


def blend_conditions(conds: Sequence[Condition | None], weights: Sequence[float], mode: str) -> Condition:
    """Blend conditions; slots with zero weight may be None (never encoded)."""
    idx = _active(weights)
    tokens = blend_tensors([c.tokens if c is not None else None for c in conds], weights, mode)
    pooled = None
    if conds[idx[0]].pooled is not None:
        pooled = blend_tensors([c.pooled if c is not None else None for c in conds], weights, mode)
    return Condition(tokens, pooled)


# -- caches -----------------------------------------------------------------------
class PromptCache:
    """Text -> Condition, encoding each text at most once while it stays cached."""

    def __init__(self, encode: Callable[[str], tuple[torch.Tensor, torch.Tensor | None]], capacity: int = 64):
        self._encode = encode
        self._cache = LRU(capacity)
        self.encoder_calls = 0

    def get(self, text: str) -> Condition:
        def make():
            self.encoder_calls += 1
            tokens, pooled = self._encode(text)
            return Condition(tokens, pooled)

        return self._cache.get(text, make)


def seed_noise(seed: int, shape: Sequence[int], device="cpu", dtype=torch.float32) -> torch.Tensor:
    """Gaussian noise from a seed, drawn on the CPU so every device sees the same numbers."""
    g = torch.Generator().manual_seed(int(seed))
    return torch.randn(tuple(shape), generator=g, dtype=torch.float32).to(device=device, dtype=dtype)


class NoiseCache:
    def __init__(self, capacity: int = 16):
        self._cache = LRU(capacity)

    def get(self, seed: int, shape: Sequence[int], device, dtype) -> torch.Tensor:
        key = (int(seed), tuple(shape), str(device), dtype)
        return self._cache.get(key, lambda: seed_noise(seed, shape, device, dtype))
