"""ONNX export of the UNet and the autoencoders, shared by ONNX Runtime and TensorRT.

Every graph has a dynamic batch axis and dynamic height/width axes, so one
export serves every Stream Batch size (with or without RCFG's extra negatives)
and every resolution; a back end narrows the ranges (TensorRT's optimisation
profile), the graph does not.

Exporter: the TorchScript-based ("legacy") exporter, ``torch.onnx.export(...,
dynamo=False)`` with ``dynamic_axes``.  Measured here on diffusers'
UNet2DConditionModel (the ``tiny`` model): it exports in under a second
where the dynamo exporter took 12 s, both match PyTorch to 2e-6, and ONNX
Runtime ran the legacy graph about 15 % faster.  It is also the exporter
StreamDiffusion's and diffusers' own TensorRT paths use.  Should a future torch
drop it, :func:`export_module` falls back to the dynamo exporter
(``dynamic_shapes`` with ``torch.export.Dim``).  Opset 17 (LayerNorm and
GroupNorm-friendly, accepted by TensorRT 8.6+ and ONNX Runtime 1.14+).

Graph inputs and outputs (names are the contract with the back ends):

* UNet: ``sample`` (B, C, h, w), ``timestep`` (B,) float, ``encoder_hidden_states``
  (B, L, D); ``timestep_cond`` (B, Dw) when the UNet is LCM-distilled
  (``time_cond_proj_dim``); ``text_embeds`` (B, P) and ``time_ids`` (B, 6) for
  SDXL (``addition_embed_type == 'text_time'``) -> ``out`` (B, C, h, w).
* VAE encoder: ``images`` (B, 3, H, W) in [-1, 1] -> ``latents`` (B, c, H/8, W/8),
  already times ``scaling_factor`` (the posterior's mode for AutoencoderKL).
* VAE decoder: ``latents`` (scaled) -> ``images`` (unclamped).
"""

from __future__ import annotations

import copy
import inspect
import os
import warnings
from pathlib import Path

import torch

from .cache import AccelBuildError, Cancel, EngineCache, ProgressFn, cancel_check, module_fingerprint, standard_key_parts
from .eager import autoencoder_module, eager_decoder, eager_encoder, eager_unet
from .spec import AccelSpec

OPSET = 17
EXPORTER = "torchscript"


# -- wrappers: plain positional tensors in, one tensor out -----------------------------------

def unet_inputs(unet) -> list[str]:
    """The UNet graph's input names for this UNet's configuration."""
    names = ["sample", "timestep", "encoder_hidden_states"]
    if getattr(unet.config, "time_cond_proj_dim", None):
        names.append("timestep_cond")
    if getattr(unet.config, "addition_embed_type", None) == "text_time":
        names += ["text_embeds", "time_ids"]
    return names


class UNetGraph(torch.nn.Module):
    def __init__(self, unet):
        super().__init__()
        self.unet = unet
        self.names = unet_inputs(unet)

    def forward(self, *args):
        kw = dict(zip(self.names, args))
        added = {"text_embeds": kw["text_embeds"], "time_ids": kw["time_ids"]} if "time_ids" in kw else None
        return eager_unet(self.unet)(kw["sample"], kw["timestep"], kw["encoder_hidden_states"], kw.get("timestep_cond"), added)


class EncoderGraph(torch.nn.Module):
    def __init__(self, ae):
        super().__init__()
        self.ae = ae

    def forward(self, images):
        return eager_encoder(self.ae)(images)


class DecoderGraph(torch.nn.Module):
    def __init__(self, ae):
        super().__init__()
        self.ae = ae

    def forward(self, latents):
        return eager_decoder(self.ae)(latents)


# -- example inputs -------------------------------------------------------------------------

def _param(m: torch.nn.Module) -> torch.Tensor:
    return next(m.parameters())


def unet_example(unet, spec: AccelSpec, latent_scale: int = 8) -> tuple[torch.Tensor, ...]:
    p = _param(unet)
    b, (height, width) = spec.unet_batch_opt, spec.opt_hw
    cfg = unet.config
    g = torch.Generator().manual_seed(0)
    rnd = lambda *shape: torch.randn(*shape, generator=g).to(device=p.device, dtype=spec.dtype)
    cross = cfg.cross_attention_dim if isinstance(cfg.cross_attention_dim, int) else cfg.cross_attention_dim[0]
    args = [rnd(b, cfg.in_channels, height // latent_scale, width // latent_scale), torch.linspace(999, 1, b).to(device=p.device, dtype=spec.dtype), rnd(b, 77, cross)]
    names = unet_inputs(unet)
    if "timestep_cond" in names:
        args.append(rnd(b, cfg.time_cond_proj_dim))
    if "time_ids" in names:
        pooled = cfg.projection_class_embeddings_input_dim - 6 * cfg.addition_time_embed_dim
        args.append(rnd(b, pooled))
        # SDXL's text_time ids: original size (h, w), crop (0, 0), target size (h, w)
        args.append(torch.tensor([[height, width, 0, 0, height, width]] * b).to(device=p.device, dtype=spec.dtype))
    return tuple(args)


# -- export ------------------------------------------------------------------------------------

def _dynamic_axes(names: list[str], outputs: list[str], spatial: dict[str, tuple[str, str]]) -> dict:
    axes = {}
    for n in names + outputs:
        axes[n] = {0: "batch"}
        if n in spatial:
            h, w = spatial[n]
            axes[n].update({2: h, 3: w})
    return axes


def _prepared_copy(module: torch.nn.Module, dtype: torch.dtype) -> torch.nn.Module:
    """A private copy to trace: export never touches the module that serves frames
    (another thread may be running it), and a dtype change stays local."""
    m = copy.deepcopy(module)
    m.eval().requires_grad_(False)
    if _param(m).dtype != dtype:
        m.to(dtype=dtype)
    return m.to(memory_format=torch.contiguous_format)


def export_module(graph: torch.nn.Module, args: tuple, path: str | os.PathLike, inputs: list[str], outputs: list[str],
                  axes: dict, opset: int = OPSET) -> Path:
    """Export ``graph`` to ``path`` (external weights next to it when over 2 GB)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python bools: the shapes are fixed per graph by design
        # PyTorch before 2.5 has no ``dynamo`` keyword: its export is the TorchScript one already
        legacy = {"dynamo": False} if "dynamo" in inspect.signature(torch.onnx.export).parameters else {}
        try:
            torch.onnx.export(graph, args, str(path), opset_version=opset, input_names=inputs,
                              output_names=outputs, dynamic_axes=axes, do_constant_folding=True, **legacy)
        except (TypeError, NotImplementedError, RuntimeError) as e:
            if "dynamo" not in str(e) and "TorchScript" not in str(e) and "deprecated" not in str(e).lower():
                raise
            _export_dynamo(graph, args, path, inputs, outputs, axes, opset)
    return path


def _export_dynamo(graph, args, path, inputs, outputs, axes, opset) -> None:
    dims: dict[str, torch.export.Dim] = {}
    shapes = {}
    for n in inputs:
        shapes[n] = {k: dims.setdefault(v, torch.export.Dim(v, min=1, max=4096)) for k, v in axes.get(n, {}).items()}
    prog = torch.onnx.export(graph, args, None, dynamo=True, opset_version=max(opset, 18), input_names=inputs,
                             output_names=outputs, dynamic_shapes=tuple(shapes[n] for n in inputs))
    prog.save(str(path), external_data=True)


def unet_feed(names, sample, timestep, encoder_hidden_states, timestep_cond=None, added_cond_kwargs=None) -> dict:
    """The exported UNet graph's inputs by name, from the UNet's call (``names``: the graph's inputs;
    a scalar timestep is expanded to the batch)."""
    t = timestep if timestep.ndim else timestep.expand(sample.shape[0])
    feed = {"sample": sample, "timestep": t, "encoder_hidden_states": encoder_hidden_states}
    if "timestep_cond" in names:
        feed["timestep_cond"] = timestep_cond
    if "time_ids" in names:
        feed["text_embeds"] = added_cond_kwargs["text_embeds"]
        feed["time_ids"] = added_cond_kwargs["time_ids"]
    return feed


def export_unet(unet, path, spec: AccelSpec, latent_scale: int = 8) -> Path:
    """The UNet as ONNX at ``path`` (dynamic batch and latent height/width)."""
    m = _prepared_copy(unet, spec.dtype)
    g = UNetGraph(m)
    args = unet_example(m, spec, latent_scale)
    axes = _dynamic_axes(g.names, ["out"], {"sample": ("height", "width"), "out": ("height", "width")})
    return export_module(g, args, path, g.names, ["out"], axes)


def export_vae_encoder(vae, path, spec: AccelSpec) -> Path:
    """An autoencoder's encoder (AutoencoderKL or AutoencoderTiny) as ONNX."""
    m = _prepared_copy(vae, spec.dtype)
    x = torch.rand(spec.image_batch_opt, 3, *spec.opt_hw, generator=torch.Generator().manual_seed(0))
    x = (x * 2 - 1).to(device=_param(m).device, dtype=spec.dtype)
    axes = _dynamic_axes(["images"], ["latents"], {"images": ("height", "width"), "latents": ("latent_height", "latent_width")})
    return export_module(EncoderGraph(m), (x,), path, ["images"], ["latents"], axes)


def export_vae_decoder(vae, path, spec: AccelSpec, latent_scale: int = 8) -> Path:
    """An autoencoder's decoder as ONNX (scaled latents in)."""
    m = _prepared_copy(vae, spec.dtype)
    c = getattr(m.config, "latent_channels", 4)
    h, w = (side // latent_scale for side in spec.opt_hw)
    z = torch.randn(spec.image_batch_opt, c, h, w, generator=torch.Generator().manual_seed(0)).to(device=_param(m).device, dtype=spec.dtype)
    axes = _dynamic_axes(["latents"], ["images"], {"latents": ("latent_height", "latent_width"), "images": ("height", "width")})
    return export_module(DecoderGraph(m), (z,), path, ["latents"], ["images"], axes)


def check_onnx(path: str | os.PathLike) -> None:
    """Raise if ``path`` is not a well-formed ONNX model (used to validate cache entries)."""
    import onnx

    onnx.checker.check_model(str(path))


# -- cached exports --------------------------------------------------------------------------

ROLES = ("unet", "vae_encoder", "vae_decoder")


def export_key_parts(bundle, role: str, spec: AccelSpec, autoencoder: str = "tiny") -> dict:
    """Everything that changes an export: weights (after LoRA fusion), role, precision,
    opset, exporter and library versions.  Not the batch or resolution ranges:
    the graph is dynamic, so one export serves every range."""
    import onnx

    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}; got {role!r}")
    module = bundle.unet if role == "unet" else autoencoder_module(bundle, autoencoder)
    return standard_key_parts(
        role=role, weights=module_fingerprint(module), flavour="onnx",
        flavour_version=f"torch {torch.__version__.split('+')[0]}, onnx {onnx.__version__}",
        batch_range=("dynamic",), resolution_range=("dynamic",), precision=str(spec.dtype).replace("torch.", ""),
        tiny_vae=role != "unet" and autoencoder == "tiny", loras=bundle.loras, gpu="any", opset=OPSET, exporter=EXPORTER,
    )


def cached_export(bundle, role: str, spec: AccelSpec, autoencoder: str = "tiny", cache: EngineCache | None = None,
                  progress: ProgressFn | None = None, cancel: Cancel | None = None) -> Path:
    """The ONNX file for ``role`` from the engine cache, exporting it once if needed."""
    cache = cache if cache is not None else EngineCache()
    what = f"ONNX export of {bundle.name}'s {role.replace('_', ' ')}" + ("" if role == "unet" else f" ({autoencoder})")
    module = bundle.unet if role == "unet" else autoencoder_module(bundle, autoencoder)
    if module is None:
        raise AccelBuildError(f"{what}: the model has no {autoencoder} autoencoder")
    parts = export_key_parts(bundle, role, spec, autoencoder)
    scale = bundle.vae_scale_factor

    def build(path: Path, prog: ProgressFn, cancel_: Cancel) -> None:
        cancel_check(cancel_, what)
        prog(0.0, f"{what}...")
        if role == "unet":
            export_unet(module, path, spec, scale)
        elif role == "vae_encoder":
            export_vae_encoder(module, path, spec)
        else:
            export_vae_decoder(module, path, spec, scale)

    from .cache import cache_key

    return cache.build(cache_key(parts), ".onnx", build, progress=progress, cancel=cancel, parts=parts, what=what,
                       validate=check_onnx)
