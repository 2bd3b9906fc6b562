"""The stream denoiser: Stream Batch and its sequential twin, with RCFG.

Both modes run the same per-step math (LCM's consistency step, as diffusers'
``LCMScheduler.step`` does it, with fixed per-step noise):

    x_t0      = sqrt(a_0) * x0 + sqrt(b_0) * noise_0
    x0_pred   = (x_ti - sqrt(b_i) * eps) / sqrt(a_i)
    denoised  = c_out_i * x0_pred + c_skip_i * x_ti
    x_t(i+1)  = sqrt(a_(i+1)) * denoised + sqrt(b_(i+1)) * noise_(i+1)

*Sequential* runs the n steps of one frame one after another (n UNet calls).
*Stream Batch* keeps the n-1 partly denoised latents of earlier frames in a
buffer and advances every frame in flight by one step in a single UNet call, so
each call takes a new frame in and hands a finished one out, n-1 calls later.
The output of the first n-1 calls (denoised from an empty buffer, the
"brown" frames) is withheld: :meth:`StreamDenoiser.stream_step` returns None
until the buffer holds real frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..params.catalog import GUIDANCE_MODES
from . import guidance as rcfg
from .schedule import StepPlan
from .unet_runner import Condition, UNetRunner


@dataclass(frozen=True)
class GuidanceSettings:
    mode: str = "self"
    scale: float = 1.2
    delta: float = 1.0

    def __post_init__(self):
        if self.mode not in GUIDANCE_MODES:
            raise ValueError(f"guidance mode {self.mode!r} is not one of {', '.join(GUIDANCE_MODES)}")


class StreamDenoiser:
    def __init__(self, runner: UNetRunner, plan: StepPlan, frames: int = 1):
        if frames < 1:
            raise ValueError("frame_buffer_size must be at least 1")
        self.runner = runner
        self.frames = frames
        self.plan = plan
        self.noise: torch.Tensor | None = None  # (n, f, C, H, W)
        self.reset()

    # -- state ----------------------------------------------------------------
    def reset(self) -> None:
        """Empty the Stream Batch buffer; the next n-1 calls refill it."""
        self._buf_x: torch.Tensor | None = None
        self._buf_anchor: torch.Tensor | None = None
        self.calls = 0

    def set_plan(self, plan: StepPlan) -> None:
        """Swap timesteps live; a different step count empties the buffer."""
        if plan.steps != self.plan.steps:
            self.plan = plan
            self.reset()
            self.noise = None
        else:
            self.plan = plan

    def set_noise(self, noise: torch.Tensor) -> None:
        n, f = self.plan.steps, self.frames
        if noise.shape[:2] != (n, f):
            raise ValueError(f"noise must be shaped ({n}, {f}, C, H, W); got {tuple(noise.shape)}")
        self.noise = noise

    def _per_item(self, v: torch.Tensor) -> torch.Tensor:
        return v.repeat_interleave(self.frames, dim=0)

    # -- the guided prediction ------------------------------------------------
    def _guided_eps(self, x, t, anchor, alpha, beta, cond: Condition, neg: Condition | None, g: GuidanceSettings, fresh: int):
        """eps for every item; ``fresh`` leading items are new frames at the first step.

        Returns (eps, anchor) where the anchor of fresh items may be replaced
        (Onetime-Negative).
        """
        b = x.shape[0]
        run = self.runner
        mode = g.mode
        if mode in ("full", "initialize") and neg is None:
            raise ValueError(f"guidance {mode!r} needs a negative condition")
        if mode == "full":
            both = Condition.cat([neg.expand(b), cond.expand(b)])
            e = run.eps(torch.cat([x, x]), torch.cat([t, t]), both, torch.cat([alpha, alpha]), torch.cat([beta, beta]), g.scale)
            e_neg, e_cond = e[:b], e[b:]
            return rcfg.textbook_cfg(e_cond, e_neg, g.scale), anchor
        if mode == "initialize" and fresh:
            both = Condition.cat([cond.expand(b), neg.expand(fresh)])
            e = run.eps(
                torch.cat([x, x[:fresh]]),
                torch.cat([t, t[:fresh]]),
                both,
                torch.cat([alpha, alpha[:fresh]]),
                torch.cat([beta, beta[:fresh]]),
                g.scale,
            )
            e_cond, e_neg0 = e[:b], e[b:]
            new_anchor = rcfg.negative_anchor(x[:fresh], e_neg0, alpha[:fresh], beta[:fresh])
            anchor = torch.cat([new_anchor, anchor[fresh:]])
        else:
            e_cond = run.eps(x, t, cond.expand(b), alpha, beta, g.scale)
        if mode == "none":
            return e_cond, anchor
        virtual = rcfg.virtual_residual_noise(x, anchor, alpha, beta)
        return rcfg.residual_cfg(e_cond, virtual, g.scale, g.delta), anchor

    @staticmethod
    def _consistency(x, eps, alpha, beta, c_skip, c_out):
        x0_pred = (x - beta * eps) / alpha
        return c_out * x0_pred + c_skip * x

    def _check(self, x0: torch.Tensor) -> None:
        if x0.shape[0] != self.frames:
            raise ValueError(f"expected {self.frames} frame latents per call, got {x0.shape[0]}")
        if self.noise is None:
            raise RuntimeError("set_noise() before denoising")

    # -- Stream Batch ---------------------------------------------------------
    @torch.inference_mode()
    def stream_step(self, x0: torch.Tensor, cond: Condition, neg: Condition | None, g: GuidanceSettings) -> torch.Tensor | None:
        """Take ``frames`` new input latents, advance everything in flight by one step.

        Returns the ``frames`` finished latents, or None while the buffer fills.
        """
        self._check(x0)
        p, f, n = self.plan, self.frames, self.plan.steps
        x_new = p.alpha[0] * x0 + p.beta[0] * self.noise[0]
        if n > 1:
            if self._buf_x is None:
                self._buf_x = torch.zeros((n - 1) * f, *x0.shape[1:], dtype=x0.dtype, device=x0.device)
                self._buf_anchor = torch.zeros_like(self._buf_x)
            x = torch.cat([x_new, self._buf_x])
            anchor = torch.cat([x0, self._buf_anchor])
        else:
            x, anchor = x_new, x0
        alpha, beta = self._per_item(p.alpha), self._per_item(p.beta)
        t = p.timesteps.repeat_interleave(f)
        eps, anchor = self._guided_eps(x, t, anchor, alpha, beta, cond, neg, g, fresh=f)
        den = self._consistency(x, eps, alpha, beta, self._per_item(p.c_skip), self._per_item(p.c_out))
        out = den[-f:]
        if n > 1:
            noise_next = self.noise[1:].reshape(-1, *x0.shape[1:])
            self._buf_x = alpha[f:] * den[:-f] + beta[f:] * noise_next
            self._buf_anchor = anchor[:-f]
        self.calls += 1
        return out if self.calls >= n else None

    # -- sequential -------------------------------------------------------------
    @torch.inference_mode()
    def sequential(self, x0: torch.Tensor, cond: Condition, neg: Condition | None, g: GuidanceSettings) -> torch.Tensor:
        """Denoise ``frames`` input latents through every step, one UNet call per step."""
        self._check(x0)
        p, f, n = self.plan, self.frames, self.plan.steps
        x = p.alpha[0] * x0 + p.beta[0] * self.noise[0]
        anchor = x0
        for i in range(n):
            a, b = p.alpha[i].expand(f, 1, 1, 1), p.beta[i].expand(f, 1, 1, 1)
            t = p.timesteps[i : i + 1].expand(f)
            eps, anchor = self._guided_eps(x, t, anchor, a, b, cond, neg, g, fresh=f if i == 0 else 0)
            den = self._consistency(x, eps, a, b, p.c_skip[i], p.c_out[i])
            if i < n - 1:
                x = p.alpha[i + 1] * den + p.beta[i + 1] * self.noise[i + 1]
        return den
