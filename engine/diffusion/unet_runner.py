"""One door to the UNet: batching of conditions, SDXL extras, work counters.

Every UNet evaluation of the denoiser goes through :class:`UNetRunner`, so the
work per frame is counted (not assumed) and the call itself can be served by
an acceleration back end without the denoiser knowing: the runner calls
``forward`` (the stream passes its :class:`~engine.accel.routing.StageRouter`'s
UNet), by default the module itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..accel.eager import eager_unet


@dataclass(frozen=True)
class Condition:
    """Text conditioning for one prompt: token embeddings and, for SDXL, the pooled one."""

    tokens: torch.Tensor  # (1, L, D)
    pooled: torch.Tensor | None = None  # (1, P), SDXL only

    def expand(self, n: int) -> "Condition":
        return Condition(
            self.tokens.expand(n, -1, -1),
            None if self.pooled is None else self.pooled.expand(n, -1),
        )

    @staticmethod
    def cat(parts: list["Condition"]) -> "Condition":
        pooled = None if parts[0].pooled is None else torch.cat([p.pooled for p in parts])
        return Condition(torch.cat([p.tokens for p in parts]), pooled)


def guidance_scale_embedding(w: torch.Tensor, dim: int, dtype=torch.float32) -> torch.Tensor:
    """Sinusoidal embedding of (guidance_scale - 1) for LCM-distilled UNets (time_cond_proj_dim)."""
    w = w * 1000.0
    half = dim // 2
    freq = torch.exp(torch.arange(half, dtype=dtype) * -(torch.log(torch.tensor(10000.0)) / (half - 1)))
    emb = w.to(dtype)[:, None] * freq[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=1)
    if dim % 2 == 1:
        emb = torch.nn.functional.pad(emb, (0, 1))
    return emb


class UNetRunner:
    def __init__(self, unet, prediction_type: str = "epsilon", add_time_ids: torch.Tensor | None = None, forward=None):
        if prediction_type not in ("epsilon", "v_prediction"):
            raise ValueError(f"prediction type {prediction_type!r} is not supported (epsilon or v_prediction)")
        self.unet = unet
        self.prediction_type = prediction_type
        self.add_time_ids = add_time_ids  # (1, 6) for SDXL
        self.time_cond_dim = getattr(unet.config, "time_cond_proj_dim", None)
        self.calls = 0
        self.items = 0
        self._w_cache: tuple[float, torch.Tensor] | None = None
        # forward(sample, timestep, encoder_hidden_states, timestep_cond, added_cond_kwargs) -> output
        self.forward = forward or eager_unet(unet)

    def _timestep_cond(self, batch: int, guidance_scale: float, like: torch.Tensor):
        if not self.time_cond_dim:
            return None
        if self._w_cache is None or self._w_cache[0] != guidance_scale:
            w = torch.tensor([guidance_scale - 1.0])
            emb = guidance_scale_embedding(w, self.time_cond_dim).to(device=like.device, dtype=like.dtype)
            self._w_cache = (guidance_scale, emb)
        return self._w_cache[1].expand(batch, -1)

    def eps(
        self,
        x: torch.Tensor,
        t: torch.Tensor,
        cond: Condition,
        alpha: torch.Tensor,
        beta: torch.Tensor,
        guidance_scale: float = 1.0,
    ) -> torch.Tensor:
        """The model's noise prediction for each item, converted to epsilon space."""
        b = x.shape[0]
        added = None
        if cond.pooled is not None:
            added = {"text_embeds": cond.pooled, "time_ids": self.add_time_ids.to(x).expand(b, -1)}
        out = self.forward(x, t, cond.tokens, self._timestep_cond(b, guidance_scale, x), added)
        self.calls += 1
        self.items += b
        if self.prediction_type == "v_prediction":
            out = alpha * out + beta * x  # eps = sqrt(a) v + sqrt(1-a) x_t
        return out
