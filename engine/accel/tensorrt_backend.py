"""TensorRT engines for the UNet and the autoencoders, in two flavours that share
every line they can:

* ``tensorrt``: NVIDIA's data-centre/desktop TensorRT (``pip install tensorrt``),
  weakly typed network with the FP16 builder flag for fp16;
* ``tensorrt-rtx``: TensorRT for RTX (``pip install tensorrt-rtx``), aimed at
  GeForce RTX cards.  Its networks are strongly typed, so precision comes from the
  ONNX export itself (an fp16 export gives an fp16 engine).  Its builder compiles
  ahead of time without a GPU: with no target compute capability set
  (``IBuilderConfig.num_compute_capabilities == 0``) it builds a portable engine
  for every supported RTX generation (Ampere and later), and the runtime
  JIT-specialises kernels on the user's card.  With a GPU present we target that
  card alone (``ComputeCapability.CURRENT``) when the library supports it.

Both are imported by flavour (``import tensorrt`` / ``import tensorrt_rtx``) and
driven through the same API: ONNX parser → network (explicit batch) → one
optimisation profile spanning the dynamic batch and resolution ranges
(min/opt/max) → builder config (workspace limit, precision, progress monitor that
also cancels) → serialised engine written through :class:`EngineCache`.
Running an engine needs an NVIDIA GPU: :class:`TensorRTModule` binds CUDA torch
tensors and runs on torch's current stream.
"""

from __future__ import annotations

import threading
from pathlib import Path

import torch

from .accelerated import Accelerated
from .base import Backend
from .cache import (
    AccelBuildError,
    Cancel,
    EngineCache,
    ProgressFn,
    cache_key,
    gpu_name,
    module_fingerprint,
    standard_key_parts,
)
from .eager import autoencoder_module
from .onnx_export import unet_feed
from .spec import AccelSpec
from .tensorrt_build import (
    GPU_NEEDED,
    AccelUnavailable,
    _logger,
    availability,
    build_engine_cached,
    library_version,
    load_library,
)

# -- running -----------------------------------------------------------------------------

def _torch_dtype(trt, dt) -> torch.dtype:
    table = {
        trt.DataType.FLOAT: torch.float32,
        trt.DataType.HALF: torch.float16,
        trt.DataType.INT32: torch.int32,
        trt.DataType.INT8: torch.int8,
        trt.DataType.BOOL: torch.bool,
    }
    for name, td in (("BF16", torch.bfloat16), ("INT64", torch.int64), ("UINT8", torch.uint8)):
        if hasattr(trt.DataType, name):
            table[getattr(trt.DataType, name)] = td
    return table[dt]


class TensorRTModule:
    """A deserialised engine, called with CUDA torch tensors by input name.

    ``module(sample=x, timestep=t, ...)`` returns a dict of output tensors; inputs
    are cast to the engine's dtype and made contiguous; outputs are new tensors
    on the same device; everything runs on torch's current CUDA stream.
    """

    def __init__(self, flavour: str, engine_path: str | Path):
        if not torch.cuda.is_available():
            raise AccelUnavailable(f"{flavour} {GPU_NEEDED}")
        self.flavour = flavour
        self.trt = trt = load_library(flavour)
        self.logger = _logger(trt)
        mark = len(self.logger.errors)
        self.runtime = trt.Runtime(self.logger)
        self.engine = self.runtime.deserialize_cuda_engine(Path(engine_path).read_bytes())
        if self.engine is None:
            detail = self.logger.since(mark) or "the engine does not load here"
            raise AccelBuildError(f"{flavour} could not load {Path(engine_path).name}: {detail}; it will be rebuilt")
        if hasattr(self.engine, "create_runtime_config"):  # RTX: JIT kernels cached in the context's runtime config
            self.context = self.engine.create_execution_context(runtime_config=self.engine.create_runtime_config())
        else:
            self.context = self.engine.create_execution_context()
        if self.context is None:
            raise AccelBuildError(f"{flavour} could not create an execution context (out of GPU memory?)")
        names = [self.engine.get_tensor_name(i) for i in range(self.engine.num_io_tensors)]
        is_input = lambda n: self.engine.get_tensor_mode(n) == trt.TensorIOMode.INPUT  # noqa: E731
        self.inputs = [n for n in names if is_input(n)]
        self.outputs = [n for n in names if not is_input(n)]
        self.dtypes = {n: _torch_dtype(trt, self.engine.get_tensor_dtype(n)) for n in names}
        self._lock = threading.Lock()
        self._stream = None  # the CUDA stream engines run on (made at the first call, on its device)

    def __call__(self, **tensors: torch.Tensor) -> dict[str, torch.Tensor]:
        missing = [n for n in self.inputs if n not in tensors]
        if missing:
            raise ValueError(f"engine inputs missing: {missing}")
        with self._lock:
            ctx = self.context
            keep = []
            device = None
            for name in self.inputs:
                t = tensors[name]
                device = device or t.device
                t = t.to(dtype=self.dtypes[name]).contiguous()
                keep.append(t)
                if not ctx.set_input_shape(name, tuple(t.shape)):
                    lo, _, hi = self.engine.get_tensor_profile_shape(name, 0)
                    raise ValueError(f"{name} shape {tuple(t.shape)} is outside the engine's range {tuple(lo)}..{tuple(hi)}")
                ctx.set_tensor_address(name, t.data_ptr())
            out = {}
            for name in self.outputs:
                shape = tuple(ctx.get_tensor_shape(name))
                o = torch.empty(shape, dtype=self.dtypes[name], device=device)
                ctx.set_tensor_address(name, o.data_ptr())
                out[name] = o
            # TensorRT on the default stream adds synchronisations of its own: run on a stream of ours,
            # ordered after the work that made the inputs, and make torch's stream wait for the outputs
            cur = torch.cuda.current_stream(device)
            if self._stream is None:
                self._stream = torch.cuda.Stream(device)
            stream = self._stream
            stream.wait_stream(cur)
            mark = len(self.logger.errors)
            if not ctx.execute_async_v3(stream.cuda_stream):
                detail = self.logger.since(mark) or "execute_async_v3 returned False"
                raise RuntimeError(f"{self.flavour} engine failed: {detail}")
            cur.wait_stream(stream)
            return out  # memory of ``keep`` is reused only in ``cur``'s order, which now waits for the engine


# -- the back ends -----------------------------------------------------------------------

ENGINE_DTYPE = torch.float16  # engines are fp16: TensorRT through its FP16 flag, RTX through an fp16 export


def _pixels(spec: AccelSpec) -> tuple:
    """(min, opt, max) pixels of the engines' profile: square bounds, the optimum (height, width)."""
    return spec.size_min, spec.opt_hw, spec.size_max


def engine_key_parts(flavour: str, bundle, role: str, spec: AccelSpec, autoencoder: str, onnx_key: str) -> dict:
    """The engine's key parts: its profile's batch and resolution ranges, optimum (height, width)
    included, so engines tuned for different frames never share a cache entry."""
    module = bundle.unet if role == "unet" else autoencoder_module(bundle, autoencoder)
    return standard_key_parts(
        role=role, weights=module_fingerprint(module), flavour=flavour, flavour_version=library_version(flavour),
        batch_range=_batch(spec, role), resolution_range=(spec.size_min, spec.size_max, spec.size_step),
        resolution_opt=spec.opt_hw,
        precision="fp16", tiny_vae=role != "unet" and autoencoder == "tiny", loras=bundle.loras,
        gpu=gpu_name(spec.device), onnx=onnx_key,
    )


def _batch(spec: AccelSpec, role: str) -> tuple[int, int, int]:
    """(min, opt, max) batch of the engine for ``role``."""
    if role == "unet":
        return spec.unet_batch[0], spec.unet_batch_opt, spec.unet_batch[1]
    return spec.image_batch[0], spec.image_batch_opt, spec.image_batch[1]


class _TensorRTBase(Backend):
    """Shared by both flavours; a subclass only names its flavour."""

    flavour = ""

    def __init__(self, cache: EngineCache | None = None, workspace_bytes: int | None = None):
        self.cache = cache
        self.workspace_bytes = workspace_bytes

    def unavailable_reason(self) -> str | None:
        return availability(self.flavour, need_gpu=True)

    def _jobs(self, bundle, spec: AccelSpec) -> list[tuple[str, str]]:
        jobs = [("unet", "tiny")]
        for ae in spec.autoencoders:
            if autoencoder_module(bundle, ae) is not None:
                jobs += [("vae_encoder", ae), ("vae_decoder", ae)]
        return jobs

    def build_engines(self, bundle, spec: AccelSpec, progress: ProgressFn | None = None, cancel=None) -> dict:
        """Export (cached) and build (cached) every engine ``spec`` needs; no GPU needed
        for the RTX flavour.  Returns {(role, autoencoder): engine path}."""
        from .onnx_export import cached_export, export_key_parts

        load_library(self.flavour)
        progress = progress or (lambda f, m: None)
        cancel = cancel if cancel is not None else Cancel()
        cache = self.cache if self.cache is not None else EngineCache()
        export_spec = spec.with_(dtype=ENGINE_DTYPE)
        jobs = self._jobs(bundle, spec)
        paths = {}
        for i, (role, ae) in enumerate(jobs):
            lo, hi = i / len(jobs), (i + 1) / len(jobs)
            span = lambda a, b, lo=lo, hi=hi: (lambda f, m: progress(lo + (hi - lo) * (a + (b - a) * f), m))  # noqa: E731
            onnx_path = cached_export(bundle, role, export_spec, ae, cache, span(0.0, 0.2), cancel)
            onnx_key = cache_key(export_key_parts(bundle, role, export_spec, ae))
            parts = engine_key_parts(self.flavour, bundle, role, spec, ae, onnx_key)
            what = f"{bundle.name}'s " + ("UNet" if role == "unet" else f"{role.replace('_', ' ')} ({ae})")
            paths[(role, ae)] = build_engine_cached(
                cache, cache_key(parts), self.flavour, onnx_path, _batch(spec, role), _pixels(spec),
                "fp16", span(0.2, 1.0), cancel, parts=parts, what=what, workspace_bytes=self.workspace_bytes,
                latent_scale=bundle.vae_scale_factor,
            )
        return paths

    def prepare(self, bundle, spec: AccelSpec, progress: ProgressFn | None = None, cancel=None) -> Accelerated:
        reason = self.unavailable_reason()
        if reason:
            raise AccelUnavailable(reason)
        if not str(spec.device).startswith("cuda"):
            raise AccelUnavailable(f"{self.flavour} runs on the GPU; the model is on {spec.device}")
        progress = progress or (lambda f, m: None)
        paths = self.build_engines(bundle, spec, lambda f, m: progress(0.9 * f, m), cancel)
        progress(0.92, f"{self.flavour}: loading engines")
        modules = {job: TensorRTModule(self.flavour, p) for job, p in paths.items()}
        out_dtype = spec.dtype
        acc = Accelerated(self.name, spec, _unet_fn(modules[("unet", "tiny")], out_dtype),
                          detail=f"{self.flavour} {library_version(self.flavour)}, fp16")
        for (role, ae), m in modules.items():
            if role == "vae_encoder":
                acc.encoders[ae] = _image_fn(m, "images", out_dtype)
            elif role == "vae_decoder":
                acc.decoders[ae] = _image_fn(m, "latents", out_dtype)
        acc.closers.append(modules.clear)  # drops the engines and contexts (their GPU memory)
        progress(1.0, f"{self.flavour}: ready")
        return acc


def _unet_fn(module: TensorRTModule, out_dtype: torch.dtype):
    names = module.inputs

    def run(sample, timestep, encoder_hidden_states, timestep_cond=None, added_cond_kwargs=None):
        feed = unet_feed(names, sample, timestep, encoder_hidden_states, timestep_cond, added_cond_kwargs)
        return module(**feed)["out"].to(out_dtype)

    return run


def _image_fn(module: TensorRTModule, input_name: str, out_dtype: torch.dtype):
    (output,) = module.outputs

    def run(x):
        return module(**{input_name: x})[output].to(out_dtype)

    return run


class TensorRTBackend(_TensorRTBase):
    name = flavour = "tensorrt"
    label = "TensorRT"


class TensorRTRTXBackend(_TensorRTBase):
    name = flavour = "tensorrt-rtx"
    label = "TensorRT for RTX"
