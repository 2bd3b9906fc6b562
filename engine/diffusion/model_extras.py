"""The optional extras a model is loaded with: the tiny VAE (TAESD) and the LCM-LoRA.

Neither is needed to draw.  Without the tiny VAE frames decode with the model's own
full VAE (slower); without the LCM-LoRA a non-distilled SD 1.5 / SDXL model needs more
steps for a clean picture.  So when one cannot be had (not in the cache while offline,
no internet at the venue), a caller that can show a warning gets one
:class:`LoadWarning` and the load goes on without it; a caller that cannot
(``warn=None``) gets the :class:`ModelLoadError` that says how to go on.

The warning says what was skipped, why, what it costs and how to get it; it names no
option of any surface: the surface adds how to turn the extra off (its flag or
control), told which by :attr:`LoadWarning.option`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from engine.diffusion.lora_fusion import lcm_lora_plan
from engine.diffusion.model_sources import NotFetched, fetch_from_hub

TINY_VAES = {"sd15": "madebyollin/taesd", "sd21": "madebyollin/taesd", "sdxl": "madebyollin/taesdxl"}
GET_IT = "connect to the internet once (HF_HUB_OFFLINE unset) to download it"


@dataclass(frozen=True)
class LoadWarning:
    """An optional extra the load went on without."""

    option: str  # the load_model option that turns the extra off: 'tiny_vae' or 'lcm_lora'
    text: str  # one line: what was skipped, why, what that costs, how to get it

    def __str__(self) -> str:
        return self.text


Warn = Callable[[LoadWarning], None]


def tiny_vae_folder(family: str, step, warn: Warn | None) -> Path | None:
    """The cached (or downloaded) tiny VAE of ``family``; None, after one warning, where it cannot be had."""
    repo = TINY_VAES[family]
    step(f"Getting the tiny VAE ({repo})", 0.3)
    try:
        return fetch_from_hub(
            repo, ("config.json", "diffusion_pytorch_model.safetensors"), what=f"The tiny VAE '{repo}'",
            fix="turn the tiny VAE off", must_have=("diffusion_pytorch_model.safetensors",),
            report=step.span(0.3, 0.35), cancel=step.cancel,
        )
    except NotFetched as e:
        if warn is None:
            raise
        warn(LoadWarning("tiny_vae", f"tiny VAE skipped: {e.reason}, so frames decode with the full VAE, which is "
                                     f"slower; {GET_IT}"))
        return None


def lcm_lora_or_none(
    name: str, family: str, step, report, cancel: threading.Event | None, warn: Warn | None
) -> list[tuple[str, Path, float]]:
    """:func:`lcm_lora_plan`, or an empty plan after one warning where the LCM-LoRA cannot be had."""
    try:
        return lcm_lora_plan(name, family, step, report, cancel)
    except NotFetched as e:
        if warn is None:
            raise
        warn(LoadWarning("lcm_lora", f"LCM-LoRA skipped: {e.reason}, so this model runs without it and needs more "
                                     f"steps for a clean picture (blurry at 1-4 steps); {GET_IT}"))
        return []
