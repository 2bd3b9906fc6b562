"""The built-in ``tiny`` model: real diffusers/transformers classes, small seeded weights.

It has every component a Stable Diffusion 1.5 checkpoint has (UNet with cross
attention, an AutoencoderKL with the usual 8x downscale, a TAESD-style tiny
autoencoder, a CLIP text encoder and tokenizer), built from configs with random
weights seeded for repeatability.  It needs no download, so tests, benchmarks
and the first-run demo work on a machine with no network and no GPU.  Its
pictures are meaningless; its arithmetic is exactly the real models'.
"""

from __future__ import annotations

import torch

TINY_SEED = 1234


def byte_level_vocab() -> dict[str, int]:
    """A CLIP byte-level BPE vocabulary with no merges (every byte is a token)."""
    printable = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            codes.append(256 + extra)
            extra += 1
    chars = [chr(c) for c in codes]
    vocab: dict[str, int] = {}
    for c in chars:
        vocab[c] = len(vocab)
    for c in chars:
        vocab[c + "</w>"] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab


def tiny_tokenizer():
    from transformers import CLIPTokenizer

    return CLIPTokenizer(vocab=byte_level_vocab(), merges=[], model_max_length=77)


@torch.no_grad()
def _calibrate_tiny_autoencoder(ae, seed: int) -> None:
    """Give the random TAESD-style autoencoder usable scales (LSUV-style).

    With diffusers' default init its output is a near-constant black, whatever
    the input, which would make the demo blank and weaken the tests.  Here every
    conv gets He-normal weights from ``seed``, then the last encoder conv is
    scaled for unit-variance latents and the last decoder conv for mid-grey
    output of moderate contrast, measured on a seeded smooth random image.
    """
    g = torch.Generator().manual_seed(seed)
    convs = [m for m in ae.modules() if isinstance(m, torch.nn.Conv2d)]
    for conv in convs:
        fan_in = conv.weight[0].numel()
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=g) * (2.0 / fan_in) ** 0.5)
        if conv.bias is not None:
            conv.bias.zero_()
    enc_last = [m for m in ae.encoder.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    dec_last = [m for m in ae.decoder.modules() if isinstance(m, torch.nn.Conv2d)][-1]
    img = torch.nn.functional.interpolate(torch.rand(2, 3, 16, 16, generator=g), size=128, mode="bicubic") * 2 - 1
    z = ae.encoder(img)
    enc_last.weight.div_(z.std())
    z = ae.encoder(img)
    y = ae.decoder(z)  # = 2 * layers(z) - 1
    inner = (y + 1) / 2
    dec_last.weight.mul_(0.25 / inner.std())
    inner = (ae.decoder(z) + 1) / 2
    dec_last.bias.add_(0.5 - inner.mean(dim=(0, 2, 3)))


def tiny_components(seed: int = TINY_SEED) -> dict:
    """Build every component of the ``tiny`` model with weights drawn from ``seed``."""
    from diffusers import AutoencoderKL, AutoencoderTiny, LCMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    tokenizer = tiny_tokenizer()
    gen_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(seed)
        unet = UNet2DConditionModel(
            sample_size=32,
            in_channels=4,
            out_channels=4,
            block_out_channels=(32, 64),
            layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=32,
            attention_head_dim=8,
            norm_num_groups=16,
        )
        torch.manual_seed(seed + 1)
        vae = AutoencoderKL(
            in_channels=3,
            out_channels=3,
            down_block_types=("DownEncoderBlock2D",) * 4,
            up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(16, 16, 32, 32),
            layers_per_block=1,
            latent_channels=4,
            norm_num_groups=8,
            sample_size=256,
        )
        torch.manual_seed(seed + 2)
        tiny_vae = AutoencoderTiny(
            in_channels=3,
            out_channels=3,
            encoder_block_out_channels=(8, 8, 8, 8),
            decoder_block_out_channels=(8, 8, 8, 8),
            num_encoder_blocks=(1, 1, 1, 1),
            num_decoder_blocks=(1, 1, 1, 1),
            latent_channels=4,
        )
        torch.manual_seed(seed + 3)
        text_encoder = CLIPTextModel(
            CLIPTextConfig(
                vocab_size=len(tokenizer),
                hidden_size=32,
                intermediate_size=64,
                num_hidden_layers=2,
                num_attention_heads=4,
                max_position_embeddings=77,
                bos_token_id=tokenizer.bos_token_id,
                eos_token_id=tokenizer.eos_token_id,
                pad_token_id=tokenizer.pad_token_id,
            )
        )
    finally:
        torch.random.set_rng_state(gen_state)
        _calibrate_tiny_autoencoder(tiny_vae, seed + 4)
    scheduler = LCMScheduler()
    for m in (unet, vae, tiny_vae, text_encoder):
        m.eval().requires_grad_(False)
    return {
        "unet": unet,
        "vae": vae,
        "tiny_vae": tiny_vae,
        "text_encoder": text_encoder,
        "tokenizer": tokenizer,
        "scheduler": scheduler,
    }


def tiny_sdxl_components(seed: int = TINY_SEED) -> dict:
    """An SDXL-shaped tiny model: two text encoders (the second with a pooled
    projection) and a UNet with SDXL's ``text_time`` added conditioning."""
    from diffusers import UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

    parts = tiny_components(seed)
    tokenizer = parts["tokenizer"]
    text = dict(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4,
        max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed + 10)
        unet = UNet2DConditionModel(
            sample_size=32, in_channels=4, out_channels=4, block_out_channels=(32, 64), layers_per_block=1,
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
            cross_attention_dim=64, attention_head_dim=8, norm_num_groups=16, use_linear_projection=True,
            addition_embed_type="text_time", addition_time_embed_dim=8, projection_class_embeddings_input_dim=6 * 8 + 32,
        )
        torch.manual_seed(seed + 11)
        text_encoder = CLIPTextModel(CLIPTextConfig(**text))
        torch.manual_seed(seed + 12)
        text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(projection_dim=32, **text))
    for m in (unet, text_encoder, text_encoder_2):
        m.eval().requires_grad_(False)
    parts.update(unet=unet, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer_2=tiny_tokenizer())
    return parts
