"""A loaded model: the components the stream needs, and how to use them.

The loader (:mod:`engine.diffusion.model_loader`) fills a :class:`ModelBundle`;
everything downstream (conditioning, the denoiser, the VAE stage) reads it and
never cares where the weights came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

FAMILIES = ("sd15", "sd21", "sdxl")


@dataclass
class ModelBundle:
    name: str  # what the user asked for ('tiny', an id, a path)
    family: str  # one of FAMILIES
    unet: Any
    vae: Any  # AutoencoderKL
    text_encoder: Any
    tokenizer: Any
    scheduler_config: dict
    tiny_vae: Any = None  # AutoencoderTiny or None
    text_encoder_2: Any = None  # SDXL
    tokenizer_2: Any = None  # SDXL
    is_turbo: bool = False
    loras: dict[str, float] = field(default_factory=dict)
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    dtype: torch.dtype = torch.float32

    @property
    def prediction_type(self) -> str:
        return self.scheduler_config.get("prediction_type", "epsilon")

    @property
    def vae_scale_factor(self) -> int:
        return 2 ** (len(self.vae.config.block_out_channels) - 1)

    @property
    def latent_channels(self) -> int:
        return self.unet.config.in_channels

    def autoencoder(self, use_tiny: bool):
        return self.tiny_vae if (use_tiny and self.tiny_vae is not None) else self.vae

    # -- text -----------------------------------------------------------------
    def _tokens(self, tokenizer, texts: list[str]) -> torch.Tensor:
        return tokenizer(
            texts, padding="max_length", max_length=tokenizer.model_max_length, truncation=True, return_tensors="pt"
        ).input_ids.to(self.device)

    @torch.inference_mode()
    def encode_text(self, text: str) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Token embeddings (1, L, D) and, for SDXL, the pooled embedding (1, P).

        Matches diffusers' pipelines: the last hidden state for SD 1.5/2.1; for
        SDXL both encoders' penultimate states side by side and the second
        encoder's projected pooled output.
        """
        if self.family != "sdxl":
            out = self.text_encoder(self._tokens(self.tokenizer, [text]))[0]
            return out.to(self.dtype), None
        states = []
        pooled = None
        for tok, enc in ((self.tokenizer, self.text_encoder), (self.tokenizer_2, self.text_encoder_2)):
            out = enc(self._tokens(tok, [text]), output_hidden_states=True)
            pooled = out[0]
            states.append(out.hidden_states[-2])
        return torch.cat(states, dim=-1).to(self.dtype), pooled.to(self.dtype)

    def sdxl_time_ids(self, height: int, width: int | None = None) -> torch.Tensor | None:
        """SDXL's text_time conditioning for a ``height`` x ``width`` frame (square when
        ``width`` is left out): original size (h, w), crop top-left (0, 0), target size
        (h, w), as diffusers' SDXL pipelines build it."""
        if self.family != "sdxl":
            return None
        width = height if width is None else width
        return torch.tensor([[height, width, 0, 0, height, width]], dtype=self.dtype, device=self.device)

    def use_channels_last(self) -> None:
        """Store conv weights channels-last (NHWC): oneDNN and cuDNN run the
        UNet and both autoencoders faster that way (measured here: the full VAE
        about 1.5x on the CPU).  Idempotent; the numbers do not change."""
        for m in (self.unet, self.vae, self.tiny_vae):
            if m is not None:
                m.to(memory_format=torch.channels_last)

    def to(self, device, dtype=None) -> "ModelBundle":
        dtype = dtype or self.dtype
        for m in (self.unet, self.vae, self.tiny_vae, self.text_encoder, self.text_encoder_2):
            if m is not None:
                m.to(device=device, dtype=dtype)
        self.device, self.dtype = torch.device(device), dtype
        return self
