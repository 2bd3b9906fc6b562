"""One door to the UNet: batching of conditions, SDXL extras, work counters.

Every UNet evaluation of the denoiser goes through :class:`UNetRunner`, so the
work per frame is counted (not assumed) and an acceleration back end
(:mod:`engine.accel`) replaces the module call without the denoiser knowing:
:meth:`UNetRunner.use` installs its UNet callable, None puts the module back.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


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
    def __init__(self, unet, prediction_type: str = "epsilon", add_time_ids: torch.Tensor | None = None):
        if prediction_type not in ("epsilon", "v_prediction"):
            raise ValueError(f"prediction type {prediction_type!r} is not supported (epsilon or v_prediction)")
        self.unet = unet
        self.prediction_type = prediction_type
        self.add_time_ids = add_time_ids  # (1, 6) for SDXL
        self.time_cond_dim = getattr(unet.config, "time_cond_proj_dim", None)
        self.calls = 0
        self.items = 0
        self._w_cache: tuple[float, torch.Tensor] | None = None
        self.forward = None  # an acceleration back end's UNet callable; None: the module
        self._serves = None  # (batch, h, w) -> bool: the shapes the callable serves

    def use(self, forward=None, serves=None) -> None:
        """Serve the UNet with ``forward(sample, timestep, encoder_hidden_states,
        timestep_cond, added_cond_kwargs) -> output`` for the shapes ``serves``
        accepts (latent batch, height, width); the module serves the rest."""
        self.forward, self._serves = forward, serves

    def reset_counters(self) -> None:
        self.calls = 0
        self.items = 0

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
        fn = self.forward
        if fn is not None and (self._serves is None or self._serves(b, x.shape[2], x.shape[3])):
            out = fn(x, t, cond.tokens, self._timestep_cond(b, guidance_scale, x), added)
        else:
            out = self.unet(
                x,
                t,
                encoder_hidden_states=cond.tokens,
                timestep_cond=self._timestep_cond(b, guidance_scale, x),
                added_cond_kwargs=added,
                return_dict=False,
            )[0]
        self.calls += 1
        self.items += b
        if self.prediction_type == "v_prediction":
            out = alpha * out + beta * x  # eps = sqrt(a) v + sqrt(1-a) x_t
        return out
