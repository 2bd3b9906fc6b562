"""ONNX Runtime: the shared ONNX exports run by ORT's execution providers.

On this machine that is the CPU provider; where ``onnxruntime-gpu`` is installed
and the spec's device is CUDA, the TensorRT and CUDA execution providers are
tried first (ORT falls back per node to the next one).  Session options, as
measured on the ``tiny`` model with 2 cores: full graph optimisation (constant
folding, fusions, NCHWc layouts), intra-op threads = torch's thread count
(ORT's default uses every core, which fights the other live threads),
sequential execution, ORT's own arena and spin-wait defaults.

Tensors: on the CPU, torch tensors go in and come out through NumPy without a
copy where the memory is already contiguous; on CUDA, IO binding hands ORT
torch's device buffers directly (inputs, and an output torch allocates with the
shape the graph gives), so nothing crosses to the host.  The CUDA path has not
run yet: no ``onnxruntime-gpu`` here.
"""

from __future__ import annotations

import numpy as np
import torch

from .base import Accelerated, AccelSpec, Backend
from .cache import AccelBuildError, Cancel, EngineCache, ProgressFn, cancel_check
from .onnx_export import cached_export, unet_feed

CPU = "CPUExecutionProvider"
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
_NP = {torch.float32: np.float32, torch.float16: np.float16}


def _ort():
    import onnxruntime

    return onnxruntime


def session_options(threads: int | None = None):
    ort = _ort()
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = threads or torch.get_num_threads()
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # errors only: no warnings from a live show's log
    # ORT's worker threads spin after each run by default. In a live process that also runs torch,
    # capture, output and audio threads, that spinning takes the cores they need: measured here
    # (2 cores, tiny model at 256 px) spinning made eager in the same process 20x slower and ORT
    # itself 3x slower than with spinning off.
    so.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return so


class OrtModel:
    """One ONNX Runtime session called with torch tensors, returning a torch tensor."""

    def __init__(self, path, providers: list, device: str = "cpu", threads: int | None = None, out_shape=None,
                 out_dtype: torch.dtype = torch.float32):
        ort = _ort()
        try:
            self.session = ort.InferenceSession(str(path), session_options(threads), providers=providers)
        except Exception as e:
            raise AccelBuildError(f"ONNX Runtime could not load {path}: {type(e).__name__}: {e}") from e
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.output = self.session.get_outputs()[0].name
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        if self.cuda and self.session.get_providers()[0] == "CPUExecutionProvider":
            # ORT quietly falls back to the CPU when a GPU provider fails to start: say so instead
            raise AccelBuildError(f"ONNX Runtime's GPU providers ({', '.join(p if isinstance(p, str) else p[0] for p in providers)}) "
                                  "did not start; it would run on the CPU. Check onnxruntime-gpu's CUDA and cuDNN versions")
        self.out_shape = out_shape  # inputs -> output shape: the output buffer torch allocates under IO binding
        self.out_dtype = out_dtype

    def __call__(self, *tensors: torch.Tensor) -> torch.Tensor:
        if self.cuda:
            return self._run_bound(tensors)
        feed = {n: t.detach().contiguous().numpy() for n, t in zip(self.inputs, tensors)}
        return torch.from_numpy(self.session.run([self.output], feed)[0])

    def _run_bound(self, tensors) -> torch.Tensor:
        """CUDA: ORT reads and writes torch's device buffers (no host round trip)."""
        binding = self.session.io_binding()
        index = self.device.index if self.device.index is not None else torch.cuda.current_device()
        keep = [t.detach().contiguous() for t in tensors]
        for name, t in zip(self.inputs, keep):
            binding.bind_input(name, "cuda", index, _NP[t.dtype], tuple(t.shape), t.data_ptr())
        out = torch.empty(self.out_shape(*keep), device=self.device, dtype=self.out_dtype)
        binding.bind_output(self.output, "cuda", index, _NP[out.dtype], tuple(out.shape), out.data_ptr())
        torch.cuda.current_stream(self.device).synchronize()  # inputs written by torch's stream are ready
        self.session.run_with_iobinding(binding)
        return out


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"
    label = "ONNX Runtime"

    def __init__(self, cache: EngineCache | None = None, providers: list | None = None, threads: int | None = None):
        self.cache = cache
        self.providers = providers
        self.threads = threads

    def unavailable_reason(self) -> str | None:
        try:
            _ort()
        except Exception as e:
            return f"onnxruntime is not installed or does not load ({type(e).__name__}: {e}); pip install onnxruntime"
        return None

    def providers_for(self, spec: AccelSpec) -> list:
        """The execution providers to ask for, best first, that this ORT build has."""
        have = set(_ort().get_available_providers())
        if self.providers is not None:
            missing = [p if isinstance(p, str) else p[0] for p in self.providers]
            missing = [p for p in missing if p not in have]
            if missing:
                raise AccelBuildError(f"ONNX Runtime here has no {', '.join(missing)} (it has {', '.join(sorted(have))})")
            return list(self.providers)
        if str(spec.device).startswith("cuda"):
            gpu = [p for p in GPU_PROVIDERS if p in have]
            if not gpu:
                raise AccelBuildError("ONNX Runtime here has no CUDA execution provider (pip install onnxruntime-gpu); "
                                      "the model is on the GPU")
            return gpu + [CPU]
        return [CPU]

    def prepare(self, bundle, spec: AccelSpec, progress: ProgressFn | None = None, cancel: Cancel | None = None) -> Accelerated:
        reason = self.unavailable_reason()
        if reason:
            raise AccelBuildError(reason)
        progress = progress or (lambda f, m: None)
        cancel = cancel if cancel is not None else Cancel()
        providers = self.providers_for(spec)
        cache = self.cache if self.cache is not None else EngineCache()
        jobs = [("unet", "tiny")] + [(role, ae) for ae in spec.autoencoders for role in ("vae_encoder", "vae_decoder")
                                     if (bundle.tiny_vae if ae == "tiny" else bundle.vae) is not None]
        models = {}
        for i, (role, ae) in enumerate(jobs):
            lo, hi = i / len(jobs), (i + 1) / len(jobs)
            sub = lambda f, m, lo=lo, hi=hi: progress(lo + (hi - lo) * 0.7 * f, m)
            path = cached_export(bundle, role, spec, ae, cache, sub, cancel)
            cancel_check(cancel, "ONNX Runtime preparation")
            progress(lo + (hi - lo) * 0.8, f"ONNX Runtime: loading {role.replace('_', ' ')}")
            models[(role, ae)] = OrtModel(path, providers, spec.device, self.threads, _out_shape(bundle, role, ae), spec.dtype)
        unet = models[("unet", "tiny")]
        # the graphs are fully dynamic: this serves any batch and size, so a new
        # Stream Batch size or resolution needs no new preparation
        served = spec.with_(unet_batch=(1, 1 << 16), image_batch=(1, 1 << 16), size_min=spec.size_step, size_max=1 << 14)
        acc = Accelerated(self.name, served, _unet_fn(unet, spec.dtype), detail=f"{providers[0]}, "
                          f"{self.threads or torch.get_num_threads()} threads")
        for (role, ae), m in models.items():
            if role == "vae_encoder":
                acc.encoders[ae] = m
            elif role == "vae_decoder":
                acc.decoders[ae] = m
        progress(1.0, "ONNX Runtime: ready")
        return acc


def _out_shape(bundle, role: str, ae: str):
    k = bundle.vae_scale_factor
    if role == "unet":
        return lambda sample, *rest: tuple(sample.shape[:1]) + (bundle.unet.config.out_channels,) + tuple(sample.shape[2:])
    if role == "vae_encoder":
        c = (bundle.tiny_vae if ae == "tiny" else bundle.vae).config.latent_channels
        return lambda images: (images.shape[0], c, images.shape[2] // k, images.shape[3] // k)
    return lambda latents: (latents.shape[0], 3, latents.shape[2] * k, latents.shape[3] * k)


def _unet_fn(model: OrtModel, dtype: torch.dtype):
    names = model.inputs

    def run(sample, timestep, encoder_hidden_states, timestep_cond=None, added_cond_kwargs=None):
        args = unet_feed(names, sample, timestep.to(dtype), encoder_hidden_states, timestep_cond, added_cond_kwargs)
        return model(*(args[n] for n in names))

    return run
