"""ONNX export of the tiny model's UNet and autoencoders, run by ONNX Runtime.

Each graph is exported once (dynamic batch, height and width; traced at a square
or a non-square optimum) and then run at three batch sizes and three frames, one
of them not square; ONNX Runtime (CPU provider) must match
PyTorch to float32 tolerance: |ort - torch| <= 1e-4 + 1e-4 * |torch| elementwise
(measured differences are about 2e-6).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch

from engine.accel import AccelSpec
from engine.accel.cache import EngineCache
from engine.accel.onnx_export import (DecoderGraph, EncoderGraph, UNetGraph, cached_export, export_unet, export_vae_decoder,
                                      export_vae_encoder, unet_example, unet_inputs)
from engine.accel.onnxruntime_backend import OrtModel

RTOL = ATOL = 1e-4
SPEC = AccelSpec(unet_batch=(1, 4), image_batch=(1, 2), size_min=64, size_max=128, height_opt=64, width_opt=64, unet_batch_opt=2)
SHAPES = [(2, 64, 64), (3, 128, 128), (1, 64, 128)]  # (batch, height, width) pixels: one export runs them all
OPTIMA = [(64, 64), (64, 128)]  # (height, width) the export is traced at


def _dynamic_dims(path) -> dict[str, list]:
    m = onnx.load(str(path), load_external_data=False)
    return {i.name: [d.dim_param or d.dim_value for d in i.type.tensor_type.shape.dim] for i in m.graph.input}


def _close(ort_out: torch.Tensor, ref: torch.Tensor) -> None:
    np.testing.assert_allclose(ort_out.numpy(), ref.float().numpy(), rtol=RTOL, atol=ATOL)


def _unet_args(unet, b, h, w, g):
    cfg = unet.config
    args = [torch.randn(b, cfg.in_channels, h // 8, w // 8, generator=g), torch.tensor([999.0, 500.0, 21.0][:b]),
            torch.randn(b, 77, cfg.cross_attention_dim, generator=g)]
    names = unet_inputs(unet)
    if "timestep_cond" in names:
        args.append(torch.randn(b, cfg.time_cond_proj_dim, generator=g))
    if "time_ids" in names:
        args.append(torch.randn(b, cfg.projection_class_embeddings_input_dim - 6 * cfg.addition_time_embed_dim, generator=g))
        args.append(torch.tensor([[h, w, 0, 0, h, w]] * b, dtype=torch.float32))
    return args


def _check_unet(unet, path, opt=(64, 64)):
    export_unet(unet, path, SPEC.with_(height_opt=opt[0], width_opt=opt[1]))
    dims = _dynamic_dims(path)
    assert dims["sample"] == ["batch", 4, "height", "width"] and dims["timestep"] == ["batch"]
    ort = OrtModel(path, ["CPUExecutionProvider"])
    graph = UNetGraph(unet)
    g = torch.Generator().manual_seed(1)
    for b, h, w in SHAPES:
        args = _unet_args(unet, b, h, w, g)
        out = ort(*args)
        assert out.shape == (b, 4, h // 8, w // 8)
        _close(out, graph(*args))
    return dims


@pytest.mark.parametrize("opt", OPTIMA)
def test_unet_exports_dynamic_and_matches_torch(tiny, tmp_path, opt):
    dims = _check_unet(tiny["unet"], tmp_path / "unet.onnx", opt)
    assert list(dims) == ["sample", "timestep", "encoder_hidden_states"]


def test_lcm_and_sdxl_unets_export_their_extra_inputs(tmp_path):
    """The LCM w-embedding (time_cond_proj_dim) and SDXL's text_time conditions are graph inputs."""
    from diffusers import UNet2DConditionModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=8, in_channels=4, out_channels=4, block_out_channels=(16, 32), layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=16, attention_head_dim=4, norm_num_groups=8, time_cond_proj_dim=8,
        addition_embed_type="text_time", addition_time_embed_dim=4, projection_class_embeddings_input_dim=6 * 4 + 16,
    ).eval().requires_grad_(False)
    dims = _check_unet(unet, tmp_path / "unet.onnx", (64, 128))
    example = unet_example(unet, SPEC.with_(height_opt=64, width_opt=128))
    assert example[0].shape[-2:] == (8, 16) and example[-1][0].tolist() == [64, 128, 0, 0, 64, 128]  # SDXL ids: (h, w)
    assert list(dims) == ["sample", "timestep", "encoder_hidden_states", "timestep_cond", "text_embeds", "time_ids"]


@pytest.mark.parametrize("opt", OPTIMA)
@pytest.mark.parametrize("which", ["tiny_vae", "vae"])
def test_autoencoders_export_dynamic_and_match_torch(tiny, tmp_path, which, opt):
    ae, spec = tiny[which], SPEC.with_(height_opt=opt[0], width_opt=opt[1])
    enc_path, dec_path = export_vae_encoder(ae, tmp_path / "enc.onnx", spec), export_vae_decoder(ae, tmp_path / "dec.onnx", spec)
    assert _dynamic_dims(enc_path)["images"] == ["batch", 3, "height", "width"]
    assert _dynamic_dims(dec_path)["latents"] == ["batch", 4, "latent_height", "latent_width"]
    enc, dec = OrtModel(enc_path, ["CPUExecutionProvider"]), OrtModel(dec_path, ["CPUExecutionProvider"])
    g = torch.Generator().manual_seed(2)
    for b, h, w in SHAPES:
        images = torch.rand(b, 3, h, w, generator=g) * 2 - 1
        lat = enc(images)
        assert lat.shape == (b, 4, h // 8, w // 8)
        _close(lat, EncoderGraph(ae)(images))
        out = dec(lat)
        assert out.shape == (b, 3, h, w)
        _close(out, DecoderGraph(ae)(lat))


def test_exports_are_cached_by_weights(tiny_bundle, tmp_path):
    cache = EngineCache(tmp_path)
    first = cached_export(tiny_bundle, "vae_decoder", SPEC, "tiny", cache)
    stamp = first.stat().st_mtime_ns
    again = cached_export(tiny_bundle, "vae_decoder", SPEC.with_(size_max=192), "tiny", cache)  # ranges: same graph
    assert again == first and again.stat().st_mtime_ns == stamp
    full = cached_export(tiny_bundle, "vae_decoder", SPEC, "full", cache)  # other weights: another entry
    assert full != first and len(cache.entries()) == 2
