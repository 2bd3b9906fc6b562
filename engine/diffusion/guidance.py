"""Residual classifier-free guidance (RCFG), after StreamDiffusion section 3.2.

Textbook CFG needs a second UNet pass with the negative prompt at every step:
``eps = eps_neg + g * (eps_cond - eps_neg)``.  RCFG replaces ``eps_neg`` with a
*virtual residual noise*: the noise that leads from an anchor latent ``A`` to
the current latent ``x_t`` on the forward process,

    eps_virtual = (x_t - sqrt(alpha_t) * A) / sqrt(beta_t)

and guides with ``eps = d * eps_virtual + g * (eps_cond - d * eps_virtual)``
(``d`` is the paper's delta).

* ``self`` (Self-Negative): the anchor is the input image latent ``x0``; it costs
  no extra UNet pass.  At the first step ``eps_virtual`` is exactly the noise
  that was added to the input.
* ``initialize`` (Onetime-Negative): one real negative pass at the first step
  gives ``eps_neg``; the anchor becomes the negative prediction of the clean
  latent, ``(x_t0 - sqrt(beta_t0) * eps_neg) / sqrt(alpha_t0)``, and every later
  step uses the virtual residual to it.  One extra pass per frame.
* ``full``: textbook CFG, a negative pass at every step (2n passes).
* ``none``: the conditional prediction alone.

The modes are the ``guidance`` parameter's choices (``GUIDANCE_MODES`` in
:mod:`engine.params.catalog`); :class:`~engine.diffusion.denoiser.StreamDenoiser` picks between them.
"""

from __future__ import annotations

import torch


def textbook_cfg(eps_cond: torch.Tensor, eps_neg: torch.Tensor, scale: float) -> torch.Tensor:
    return eps_neg + scale * (eps_cond - eps_neg)


def virtual_residual_noise(x_t: torch.Tensor, anchor: torch.Tensor, alpha: torch.Tensor, beta: torch.Tensor) -> torch.Tensor:
    return (x_t - alpha * anchor) / beta


def residual_cfg(eps_cond: torch.Tensor, eps_virtual: torch.Tensor, scale: float, delta: float) -> torch.Tensor:
    neg = delta * eps_virtual
    return neg + scale * (eps_cond - neg)


def negative_anchor(x_t0: torch.Tensor, eps_neg: torch.Tensor, alpha0: torch.Tensor, beta0: torch.Tensor) -> torch.Tensor:
    """The clean latent the negative prompt predicts at the first step (Onetime-Negative)."""
    return (x_t0 - beta0 * eps_neg) / alpha0
