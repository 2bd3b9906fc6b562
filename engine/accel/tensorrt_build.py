"""Building TensorRT engines from the shared ONNX export, for both flavours
(``tensorrt`` and ``tensorrt-rtx``): library loading by flavour, the ONNX parser,
one optimisation profile over the dynamic ranges, the builder config, a progress
monitor that also cancels, and the atomic write through :class:`EngineCache`.
Running engines is :mod:`.tensorrt_backend`'s part.
"""

from __future__ import annotations

import importlib
import logging
import threading
from pathlib import Path
from typing import Mapping

import torch

from .cache import AccelBuildError, Cancel, EngineCache, ProgressFn, cancel_check

FLAVOURS = {"tensorrt": "tensorrt", "tensorrt-rtx": "tensorrt_rtx"}
INSTALL_HINT = {"tensorrt": "pip install tensorrt (needs NVIDIA's package index and an NVIDIA GPU)", "tensorrt-rtx": "pip install tensorrt-rtx"}
ENGINE_SUFFIX = ".engine"
GPU_NEEDED = "needs an NVIDIA GPU with CUDA to run engines (torch.cuda.is_available() is False here); building works without one"


class AccelUnavailable(AccelBuildError):
    """The back end cannot work on this machine (library missing, no GPU); one line."""


# -- the library -------------------------------------------------------------------------

def load_library(flavour: str):
    """``import tensorrt`` or ``import tensorrt_rtx``; raise AccelUnavailable saying how to get it."""
    if flavour not in FLAVOURS:
        raise ValueError(f"unknown TensorRT flavour {flavour!r}; one of {sorted(FLAVOURS)}")
    try:
        return importlib.import_module(FLAVOURS[flavour])
    except Exception as e:  # ImportError, or a wheel whose CUDA libraries are missing
        raise AccelUnavailable(f"{flavour} is not installed or does not load ({type(e).__name__}: {e}); {INSTALL_HINT[flavour]}") from e


def library_version(flavour: str) -> str:
    return str(getattr(load_library(flavour), "__version__", "unknown"))


# Compute capabilities TensorRT for RTX builds for (besides 12.x, Blackwell): Turing, Ampere RTX, Ada.
# Data-centre parts such as A100 (8.0) and H100 (9.0) are not among them.
RTX_CAPABILITIES = {(7, 5), (8, 6), (8, 7), (8, 9)}


def availability(flavour: str, need_gpu: bool = True) -> str | None:
    """None when the flavour can build (and, with ``need_gpu``, run) here; else why not."""
    try:
        load_library(flavour)
    except AccelUnavailable as e:
        return str(e)
    if need_gpu and not torch.cuda.is_available():
        return f"{flavour} {GPU_NEEDED}"
    if need_gpu and flavour == "tensorrt-rtx":
        cc = torch.cuda.get_device_capability()
        if not (cc in RTX_CAPABILITIES or cc[0] >= 12):
            return (f"tensorrt-rtx runs on GeForce/RTX-class GPUs (Turing, Ampere RTX, Ada, Blackwell); "
                    f"this {torch.cuda.get_device_name()} is compute capability {cc[0]}.{cc[1]}: use the tensorrt back end")
    return None


_loggers: dict[str, object] = {}
_loggers_lock = threading.Lock()
log = logging.getLogger("dreamdeck.accel.tensorrt")


def _logger(trt):
    """The flavour's one logger (TensorRT keeps the first logger a process registers
    and ignores later ones), keeping the last errors for one-line reports."""
    with _loggers_lock:
        found = _loggers.get(trt.__name__)
        if found is not None:
            return found

        class Logger(trt.ILogger):
            def __init__(self):
                trt.ILogger.__init__(self)
                self.errors: list[str] = []

            def log(self, severity, msg):
                text = " ".join(str(msg).split())
                if severity in (trt.ILogger.Severity.ERROR, trt.ILogger.Severity.INTERNAL_ERROR):
                    self.errors = self.errors[-49:] + [text]
                    log.info("%s: %s", trt.__name__, text)  # reported in the AccelBuildError
                else:
                    log.debug("%s: %s", trt.__name__, text)

            def since(self, mark: int) -> str:
                """The first error logged after ``mark`` (a len(errors) taken earlier; the
                cause, usually, where later ones are consequences), or ''."""
                new = self.errors[mark:] if mark <= len(self.errors) else self.errors[-1:]
                return new[0] if new else ""

        _loggers[trt.__name__] = logger = Logger()
        return logger


def _progress_monitor(trt, progress: ProgressFn, cancel, lo: float, hi: float):
    """A trt.IProgressMonitor mapping nested build phases onto ``progress`` in [lo, hi];
    returning False from step_complete makes the builder stop (our cancel)."""
    base = getattr(trt, "IProgressMonitor", None)
    if base is None:
        return None

    class Monitor(base):
        def __init__(self):
            base.__init__(self)
            self.stack: list[list] = []  # [name, steps, done]
            self.last = -1.0

        def _report(self, name: str, force: bool = False):
            frac, scale = 0.0, 1.0
            for _, steps, done in self.stack:
                steps = max(int(steps), 1)
                frac += scale * min(done, steps) / steps
                scale /= steps
            frac = lo + (hi - lo) * min(frac, 1.0)
            if frac >= self.last + 0.002 or (force and frac >= self.last):  # monotonic, and not thousands of calls
                self.last = frac
                progress(frac, name)

        def phase_start(self, phase_name, parent_phase, num_steps):
            self.stack.append([phase_name, num_steps, 0])
            self._report(phase_name, force=len(self.stack) <= 2)

        def step_complete(self, phase_name, step):
            for entry in reversed(self.stack):
                if entry[0] == phase_name:
                    entry[2] = step + 1
                    break
            self._report(phase_name)
            return not cancel.is_set()

        def phase_finish(self, phase_name):
            while self.stack:
                name = self.stack.pop()[0]
                if name == phase_name:
                    break
            if self.stack:
                self.stack[-1][2] += 1
                self.stack[-1][2] = min(self.stack[-1][2], self.stack[-1][1])

    return Monitor()


# -- shapes ------------------------------------------------------------------------------

def pixel_hw(pixels) -> tuple[tuple[int, int], ...]:
    """``pixels`` (min, opt, max), each a square side or (height, width), as (height, width) pairs."""
    out = tuple((int(p), int(p)) if isinstance(p, int) else (int(p[0]), int(p[1])) for p in pixels)
    if len(out) != 3:
        raise ValueError(f"pixels must be (min, opt, max); got {pixels!r}")
    return out


def profile_shapes(
    inputs: Mapping[str, tuple[int, ...]],
    batch: tuple[int, int, int],
    pixels: tuple,
    latent_scale: int = 8,
    image_channels: int = 3,
) -> dict[str, tuple[tuple, tuple, tuple]]:
    """min/opt/max shapes for each network input from its shape with -1 for dynamic dims.

    Dim 0 is the batch; the last two dims of a 4-D input are height and width, in
    pixels for an image input (``image_channels`` channels) and in latents
    (pixels / ``latent_scale``) otherwise.  ``pixels`` is (min, opt, max), each a
    square side or a (height, width) pair (a non-square optimum between square
    bounds, say).  Any other dynamic dim is an error.
    """
    hw = pixel_hw(pixels)
    out = {}
    for name, shape in inputs.items():
        shapes = []
        for k in range(3):
            dims = []
            for i, d in enumerate(shape):
                if d >= 0:
                    dims.append(d)
                elif i == 0:
                    dims.append(batch[k])
                elif len(shape) == 4 and i >= 2:
                    scale = 1 if shape[1] == image_channels else latent_scale
                    dims.append(hw[k][i - 2] // scale)
                else:
                    raise AccelBuildError(f"input {name!r} has a dynamic dimension {i} that has no range (shape {tuple(shape)})")
            shapes.append(tuple(dims))
        out[name] = tuple(shapes)
    return out


# -- building ----------------------------------------------------------------------------

def _compute_capability_target(trt, config) -> str:
    """RTX flavour: target this card when there is one the library knows, else the
    portable default set (which is what makes the build work without a GPU)."""
    cc_enum = getattr(trt, "ComputeCapability", None)
    if cc_enum is None or not hasattr(config, "set_compute_capability"):
        return "default"
    if torch.cuda.is_available():
        major, minor = torch.cuda.get_device_capability()
        if hasattr(cc_enum, f"SM{major}{minor}"):
            config.num_compute_capabilities = 1
            config.set_compute_capability(cc_enum.CURRENT, 0)
            return "current"
    return "portable"  # num_compute_capabilities 0: AOT for all supported RTX GPUs, no GPU needed


def build_engine(
    flavour: str,
    onnx_path: str | Path,
    out_path: str | Path,
    batch: tuple[int, int, int],
    pixels: tuple,
    precision: str = "fp16",
    progress: ProgressFn | None = None,
    cancel=None,
    workspace_bytes: int | None = None,
    latent_scale: int = 8,
    what: str = "engine",
) -> Path:
    """Parse ``onnx_path``, build an engine for the given ranges, write it to ``out_path``.

    ``batch`` and ``pixels`` are (min, opt, max); a ``pixels`` entry is a square side
    or (height, width) (see :func:`profile_shapes`).  Raises AccelBuildError (one line)
    on failure and BuildCancelled when ``cancel`` is set during the build.
    """
    trt = load_library(flavour)
    progress = progress or (lambda f, m: None)
    cancel = cancel if cancel is not None else Cancel()
    logger = _logger(trt)
    mark = len(logger.errors)
    label = f"{flavour} {what}"

    def fail(reason: str, detail: bool = True):
        extra = logger.since(mark) if detail else ""
        raise AccelBuildError(f"{label} build failed: {reason}" + (f" ({extra})" if extra else ""))

    progress(0.0, f"{label}: parsing {Path(onnx_path).name}")
    builder = trt.Builder(logger)
    flags = 0
    explicit = getattr(trt.NetworkDefinitionCreationFlag, "EXPLICIT_BATCH", None)
    if explicit is not None:  # TensorRT < 10 needs it; 10+ and RTX are always explicit-batch
        flags |= 1 << int(explicit)
    network = builder.create_network(flags)
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = [str(parser.get_error(i).desc()) for i in range(parser.num_errors)]
        fail(f"could not parse {Path(onnx_path).name}: " + ("; ".join(errors[:2]) or "unknown parser error"), detail=False)
    cancel_check(cancel, label)
    inputs = {network.get_input(i).name: tuple(network.get_input(i).shape) for i in range(network.num_inputs)}
    shapes = profile_shapes(inputs, batch, pixels, latent_scale=latent_scale)

    config = builder.create_builder_config()
    profile = builder.create_optimization_profile()
    for name, (lo, opt, hi) in shapes.items():
        profile.set_shape(name, lo, opt, hi)
    if config.add_optimization_profile(profile) < 0:
        fail(f"invalid optimisation profile (batch {batch}, pixels {pixels}, as min/opt/max)")
    if workspace_bytes is None:
        workspace_bytes = 4 << 30
        if torch.cuda.is_available():
            workspace_bytes = min(workspace_bytes, torch.cuda.get_device_properties(0).total_memory // 4)
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_bytes))
    if flavour == "tensorrt-rtx":
        _compute_capability_target(trt, config)  # precision: the ONNX types (strongly typed)
    elif precision == "fp16" and hasattr(trt.BuilderFlag, "FP16"):
        config.set_flag(trt.BuilderFlag.FP16)
    monitor = _progress_monitor(trt, progress, cancel, 0.05, 0.95)
    if monitor is not None:
        config.progress_monitor = monitor

    progress(0.05, f"{label}: building")
    try:
        serialized = builder.build_serialized_network(network, config)
    except Exception as e:
        fail(" ".join(str(e).split()) or type(e).__name__)
    cancel_check(cancel, label)
    if serialized is None:
        fail("the builder returned no engine")
    out = Path(out_path)
    with open(out, "wb") as f:
        f.write(memoryview(serialized))
    progress(0.97, f"{label}: written")
    return out


def build_engine_cached(
    cache: EngineCache,
    key: str,
    flavour: str,
    onnx_path: str | Path,
    batch: tuple[int, int, int],
    pixels: tuple,
    precision: str = "fp16",
    progress: ProgressFn | None = None,
    cancel=None,
    parts: Mapping | None = None,
    what: str = "engine",
    **kw,
) -> Path:
    """The engine for ``key`` from the cache, built from ``onnx_path`` if missing."""

    def builder(tmp_path: Path, progress_fn, cancel_token):
        build_engine(flavour, onnx_path, tmp_path, batch, pixels, precision, progress_fn, cancel_token, what=what, **kw)

    return cache.build(key, ENGINE_SUFFIX, builder, progress=progress, cancel=cancel, parts=parts, what=f"{flavour} {what}")
