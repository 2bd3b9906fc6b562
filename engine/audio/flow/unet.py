"""A causal U-Net over (frequency, time) whose streaming run equals its offline run.

Layout: activations are channels-last frames (B, T, F, C), so every convolution is
one matrix product over all frames of a block (few, fat ops on the CPU).

* Time mixing is causal: a layer with time kernel 2 and dilation d sees frame t and
  frame t - d, stacked as channels before a 3-bin frequency convolution (exactly a Conv2d
  with kernel (3 bins, 2 frames), past-only padding).  In streaming, the last d input
  frames of each such layer are kept in a cache.
* Down- and up-sampling act on frequency only, so one output frame per input frame and
  a block's frames go through the network in one call.
* Normalisation is per frame (over channels and frequency of that frame alone).
* A :class:`CacheBank` holds one cache per solver evaluation: evaluation ``k`` of the
  ODE solver sees a different input than evaluation ``k + 1``, so each keeps its own past.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

Cache = dict  # layer name -> its last input frames (B, d, F, C)


class CacheBank:
    """One :data:`Cache` per solver evaluation, made on first use."""

    def __init__(self) -> None:
        self.caches: dict[int, Cache] = {}

    def __getitem__(self, k: int) -> Cache:
        return self.caches.setdefault(k, {})

    def __len__(self) -> int:
        return len(self.caches)

    def reset(self) -> None:
        self.caches.clear()


def past_frames(name: str, x: torch.Tensor, d: int, cache: Cache | None) -> torch.Tensor:
    """x (B, T, F, C) -> the frames d earlier (B, T, F, C): zeros before the start, or the cache."""
    if cache is None:
        prev = x.new_zeros(x.shape[0], d, *x.shape[2:])
    else:
        prev = cache.get(name)
        if prev is None:
            prev = x.new_zeros(x.shape[0], d, *x.shape[2:])
        cache[name] = torch.cat([prev, x], dim=1)[:, -d:]
    if x.shape[1] <= d:
        return torch.cat([prev, x], dim=1)[:, : x.shape[1]]
    return torch.cat([prev, x[:, :-d]], dim=1)


def freq_taps(x: torch.Tensor) -> torch.Tensor:
    """(..., F, C) -> (..., F, 3C): each bin with its lower and upper neighbour (zeros past the edges)."""
    xp = F.pad(x, (0, 0, 1, 1))
    n = x.shape[-2]
    return torch.cat([xp[..., 0:n, :], xp[..., 1 : n + 1, :], xp[..., 2 : n + 2, :]], dim=-1)


class CausalConv(nn.Module):
    """Conv over (F, T) with kernel (3 bins, 2 frames): frame t and frame t - dilation, 'same' over frequency.

    Computed as one matrix product on channels-last frames (B, T, F, C)."""

    def __init__(self, name: str, c_in: int, c_out: int, dilation: int = 1):
        super().__init__()
        self.name, self.dilation = name, dilation
        self.linear = nn.Linear(6 * c_in, c_out)
        nn.init.kaiming_uniform_(self.linear.weight, a=5**0.5)

    def forward(self, x: torch.Tensor, cache: Cache | None) -> torch.Tensor:
        both = torch.cat([past_frames(self.name, x, self.dilation, cache), x], dim=-1)
        return self.linear(freq_taps(both))


class Block(nn.Module):
    """causal conv -> per-frame norm -> + conditioning shift -> SiLU, residual when the width is kept."""

    def __init__(self, name: str, c_in: int, c_out: int, bins: int, dilation: int = 1):
        super().__init__()
        self.conv = CausalConv(name, c_in, c_out, dilation)
        self.weight = nn.Parameter(torch.ones(bins, c_out))
        self.bias = nn.Parameter(torch.zeros(bins, c_out))
        self.residual = c_in == c_out
        self.width = c_out

    def forward(self, x: torch.Tensor, shift: torch.Tensor, cache: Cache | None) -> torch.Tensor:
        y = self.conv(x, cache)
        y = F.layer_norm(y, y.shape[2:], self.weight, self.bias, 1e-5)  # per frame: over (F, C)
        y = F.silu(y + shift[:, None, None, :])
        return x + y if self.residual else y


def down4(lin: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """(B, T, F, C) -> (B, T, F / 4, C'): groups of 4 bins into one (a stride-4 conv over frequency)."""
    b, t, f, c = x.shape
    return lin(x.reshape(b, t, f // 4, 4 * c))


def up4(lin: nn.Linear, x: torch.Tensor) -> torch.Tensor:
    """(B, T, F, C) -> (B, T, 4F, C'): each bin into 4 (a stride-4 transposed conv over frequency)."""
    b, t, f, _ = x.shape
    y = lin(x)
    return y.reshape(b, t, 4 * f, y.shape[-1] // 4)


class CausalUNet(nn.Module):
    """(B, T, F, c_in) -> (B, T, F, c_out); F must divide by 4 ** (levels - 1)."""

    def __init__(self, c_in: int = 8, c_out: int = 4, widths: tuple[int, ...] = (16, 32, 64), emb: int = 64,
                 mid_dilations: tuple[int, ...] = (1, 2, 4, 8), bins: int = 256):
        super().__init__()
        self.widths = widths
        f = [bins // 4**i for i in range(len(widths))]
        self.stem = Block("stem", c_in, widths[0], f[0])
        self.down = nn.ModuleList(nn.Linear(4 * a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.enc = nn.ModuleList(Block(f"enc{i + 1}", w, w, f[i + 1]) for i, w in enumerate(widths[1:-1]))
        self.mid = nn.ModuleList(Block(f"mid{i}", widths[-1], widths[-1], f[-1], dilation=d) for i, d in enumerate(mid_dilations))
        self.up = nn.ModuleList(nn.Linear(b, 4 * a) for a, b in zip(widths[:-1], widths[1:]))
        self.dec = nn.ModuleList(Block(f"dec{i}", w, w, f[i]) for i, w in enumerate(widths[:-1]))
        self.blocks = [self.stem, *self.enc, *self.mid, *self.dec]
        self.film = nn.Linear(emb, sum(b.width for b in self.blocks))  # every block's shift in one matmul
        self.head = nn.Linear(widths[0], c_out)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def shifts(self, emb: torch.Tensor) -> list[torch.Tensor]:
        return list(torch.split(self.film(emb), [b.width for b in self.blocks], dim=1))

    def forward(self, x: torch.Tensor, shifts: list[torch.Tensor], cache: Cache | None = None) -> torch.Tensor:
        s = dict(zip(map(id, self.blocks), shifts))
        h = self.stem(x, s[id(self.stem)], cache)
        skips = [h]
        for i, down in enumerate(self.down):
            h = down4(down, h)
            if i < len(self.enc):
                h = self.enc[i](h, s[id(self.enc[i])], cache)
                skips.append(h)
        for blk in self.mid:
            h = blk(h, s[id(blk)], cache)
        for i in reversed(range(len(self.up))):
            h = up4(self.up[i], h) + skips[i]
            h = self.dec[i](h, s[id(self.dec[i])], cache)
        return self.head(h)
