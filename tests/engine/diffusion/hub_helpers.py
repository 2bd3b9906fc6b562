"""What the model-loader tests share: a snapshot id for cached repos, a weight comparison, a saved tiny folder
(the offline, private cache itself is the autouse fixture in conftest.py)."""

from pathlib import Path

import torch
from diffusers import LCMScheduler, StableDiffusionPipeline

COMMIT = "0123456789abcdef0123456789abcdef01234567"
LCM_LORA_SD15 = "latent-consistency/lcm-lora-sdv1-5"


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def save_tiny_pipeline(folder: Path, components: dict) -> Path:
    """Components saved as a plain SD 1.5-style diffusers folder (LCM scheduler, no safety checker)."""
    StableDiffusionPipeline(
        vae=components["vae"], text_encoder=components["text_encoder"], tokenizer=components["tokenizer"],
        unet=components["unet"], scheduler=LCMScheduler(steps_offset=1), safety_checker=None, feature_extractor=None,
        requires_safety_checker=False,
    ).save_pretrained(folder, safe_serialization=True)
    return folder
