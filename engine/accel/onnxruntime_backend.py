"""ONNX Runtime: the shared ONNX exports run by ORT's execution providers.

On this machine that is the CPU provider; where ``onnxruntime-gpu`` is installed
and the spec's device is CUDA, the TensorRT and CUDA execution providers are
tried first (ORT falls back per node to the next one).  Session options, as
measured on the ``tiny`` model with 2 cores: on the CPU, each graph gets the
faster of ORT's full optimisation (NCHWc layouts) and its extended fusions
without them, timed at preparation at the stream's shapes (:func:`fastest`);
on a GPU, full optimisation.  Intra-op threads = torch's thread count
(ORT's default uses every core, which fights the other live threads),
sequential execution, ORT's own arena, and worker threads that spin only while
a run is in progress.  While ORT serves on the CPU, the stream runs its own
small tensor code (image conversion, the scheduler's arithmetic) on one torch
thread (``Accelerated.torch_threads``): torch's OpenMP workers keep spinning for
a few milliseconds after each parallel operator, and on 2 cores that took the
cores ORT's next run needed (a 0.1 ms image conversion before a UNet run made
the run 4 ms slower).

Tensors: on the CPU, torch tensors go in and come out through NumPy without a
copy where the memory is already contiguous; on CUDA, IO binding hands ORT
torch's device buffers directly (inputs, and an output torch allocates with the
shape the graph gives), so nothing crosses to the host.  The CUDA path has not
run yet: no ``onnxruntime-gpu`` here.
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .accelerated import Accelerated
from .base import Backend
from .cache import AccelBuildError, Cancel, EngineCache, ProgressFn, cancel_check
from .eager import autoencoder_module
from .onnx_export import cached_export, unet_example, unet_feed
from .spec import AccelSpec

CPU = "CPUExecutionProvider"
GPU_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")
_NP = {torch.float32: np.float32, torch.float16: np.float16}


def _ort():
    import onnxruntime

    return onnxruntime


# ORT's graph optimisation levels tried on the CPU: "all" adds NCHWc layouts (channels
# blocked by the vector width) to "extended"'s fusions. Which is faster depends on the model:
# measured here at 256 px, NCHWc made the tiny UNet faster and the 8-channel TAESD slower
# (its channels are padded to the 16-float block).
LEVELS = ("all", "extended")


def session_options(threads: int | None = None, level: str = "all"):
    ort = _ort()
    so = ort.SessionOptions()
    so.graph_optimization_level = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
                                   "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED}[level]
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.intra_op_num_threads = threads or torch.get_num_threads()
    so.inter_op_num_threads = 1
    so.log_severity_level = 3  # errors only: no warnings from a live show's log
    # ORT's workers spin between the operators of a run (waking a sleeping worker for each of a UNet's
    # hundreds of small operators costs more than the operator), and stop spinning the moment the run
    # returns, so they never take the cores from torch, capture, output or audio between runs. Measured
    # here (2 cores, tiny UNet, 256 px): 13 ms a run against 16 ms with spinning off. ORT's default,
    # spinning on after a run too, made eager in the same process 20x slower and ORT itself 3x slower.
    # With live audio running beside the video at full speed (hrtf renderer into a PulseAudio null sink,
    # 20 s a run), underruns were the same with spinning on or off: 0-1 in each run.
    so.add_session_config_entry("session.intra_op.allow_spinning", "1")
    so.add_session_config_entry("session.force_spinning_stop", "1")
    return so


class OrtModel:
    """One ONNX Runtime session called with torch tensors, returning a torch tensor."""

    def __init__(self, path, providers: list, device: str = "cpu", threads: int | None = None, out_shape=None,
                 out_dtype: torch.dtype = torch.float32, level: str = "all"):
        ort = _ort()
        self.level = level
        try:
            self.session = ort.InferenceSession(str(path), session_options(threads, level), providers=providers)
        except Exception as e:
            raise AccelBuildError(f"ONNX Runtime could not load {path}: {type(e).__name__}: {e}") from e
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.output = self.session.get_outputs()[0].name
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        if self.cuda and self.session.get_providers()[0] == "CPUExecutionProvider":
            # ORT quietly falls back to the CPU when a GPU provider fails to start: say so instead
            raise AccelBuildError(f"ONNX Runtime's GPU providers ({', '.join(_provider_name(p) for p in providers)}) "
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
            missing = [_provider_name(p) for p in self.providers]
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
        first = _provider_name(providers[0])
        on_cpu = first == CPU
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
            make = lambda level, path=path, role=role, ae=ae: OrtModel(path, providers, spec.device, self.threads,
                                                                       _out_shape(bundle, role, ae), spec.dtype, level)
            if on_cpu:
                progress(lo + (hi - lo) * 0.85, f"ONNX Runtime: choosing the {role.replace('_', ' ')}'s graph optimisations")
                models[(role, ae)] = fastest(make, _example(bundle, role, ae, spec), cancel=cancel)
            else:
                models[(role, ae)] = make("all")
        unet = models[("unet", "tiny")]
        # the graphs are fully dynamic: this serves any batch and size, so a new
        # Stream Batch size or resolution needs no new preparation
        served = spec.with_(unet_batch=(1, 1 << 16), image_batch=(1, 1 << 16), size_min=spec.size_step, size_max=1 << 14)
        threads = self.threads or torch.get_num_threads()
        levels = ", ".join(f"{role.replace('_', ' ')} {m.level}" for (role, ae), m in models.items())
        acc = Accelerated(self.name, served, _unet_fn(unet, spec.dtype), detail=f"{first}, {threads} threads, {levels}",
                          torch_threads=1 if on_cpu else None)
        for (role, ae), m in models.items():
            if role == "vae_encoder":
                acc.encoders[ae] = m
            elif role == "vae_decoder":
                acc.decoders[ae] = m
        progress(1.0, "ONNX Runtime: ready")
        return acc


def fastest(make, example: tuple, rounds: int = 7, budget_s: float = 0.25, cancel: Cancel | None = None) -> "OrtModel":
    """The faster of ``make(level)`` for each of :data:`LEVELS`, timed at ``example``
    (the shapes the stream runs at preparation; a later new size or batch keeps the
    choice), in interleaved rounds, by the median.

    The first level is built and run first; a model whose one run takes longer than
    ``budget_s`` (a full-size UNet on a CPU) keeps it untimed, and no second session
    is ever built for it.  An alternative level that fails to build or run is
    dropped, not the back end.
    """
    first = make(LEVELS[0])
    t0 = time.perf_counter()
    first(*example)  # the first run at a shape plans its memory: not timed
    if time.perf_counter() - t0 > budget_s:
        return first
    models = [first]
    for level in LEVELS[1:]:
        if cancel is not None:
            cancel_check(cancel, "ONNX Runtime preparation")
        try:
            m = make(level)
            m(*example)
        except Exception:
            continue  # the level that worked serves
        models.append(m)
    if len(models) == 1:
        return first
    times = [[] for _ in models]
    for _ in range(rounds):
        if cancel is not None:
            cancel_check(cancel, "ONNX Runtime preparation")
        for m, t in zip(models, times):
            t0 = time.perf_counter()
            m(*example)
            t.append(time.perf_counter() - t0)
    return min(zip(models, times), key=lambda mt: float(np.median(mt[1])))[0]


def _provider_name(p) -> str:
    """A provider as ORT takes it: a name, or (name, options)."""
    return p if isinstance(p, str) else p[0]


def _example(bundle, role: str, ae: str, spec: AccelSpec) -> tuple:
    """Inputs of the shape the stream runs at ``spec``'s optimum, in the graph's order."""
    k, (h, w) = bundle.vae_scale_factor, spec.opt_hw
    g = torch.Generator().manual_seed(0)
    if role == "unet":
        return unet_example(bundle.unet, spec, k)
    if role == "vae_encoder":
        return (torch.rand(spec.image_batch_opt, 3, h, w, generator=g).to(spec.dtype) * 2 - 1,)
    c = autoencoder_module(bundle, ae).config.latent_channels
    return (torch.randn(spec.image_batch_opt, c, h // k, w // k, generator=g).to(spec.dtype),)


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
