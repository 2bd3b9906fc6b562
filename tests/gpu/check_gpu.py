#!/usr/bin/env python
"""GPU check: frames/s of every acceleration back end on an SD-Turbo-sized model.

    python tests/gpu/check_gpu.py            # on an NVIDIA GPU: the table
    python tests/gpu/check_gpu.py --json     # one JSON object instead
    python tests/gpu/check_gpu.py --dry-run  # CPU, the tiny model, a few frames (the test suite runs this)

What runs: a UNet with SD-Turbo's architecture (Stable Diffusion 2.1's UNet config,
written out below) and TAESD (``AutoencoderTiny``'s default config), with random
weights -- speed does not depend on weight values, and nothing is downloaded --
doing 512x512 img2img at 1 step in fp16 through DreamDeck's own stream
(:class:`engine.diffusion.stream.DiffusionStream`: frame in, RGB frame out, the
Stream Batch denoiser, the accel parameter choosing the back end).  Each back end
is prepared (export, engine build, compilation) and measured in turn, time-boxed
so the whole check ends within ``--budget`` seconds (default 290); one that is
unavailable or over its budget is skipped with the reason.  StreamDiffusion's
published figure for the same job (SD-Turbo, 1 step, 512x512 img2img, TensorRT and
a tiny VAE, RTX 4090) is printed alongside.

The TensorRT engines are built for the checked size only (a fixed 512x512
optimisation profile builds in a fraction of the time of the app's 384-1024
range); ``--full-range`` builds the app's range instead.  Engines and exports go
to a temporary cache (``--cache DIR`` to keep and reuse them).
"""

from __future__ import annotations

import time as _time

PROCESS_START = _time.monotonic()  # the budget counts Python's start-up and imports too

import argparse  # noqa: E402
import json
import logging  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

# measured in this order; ONNX Runtime last, as with onnxruntime-gpu its TensorRT provider builds slowly
BACKENDS = ("eager", "compile", "tensorrt", "tensorrt-rtx", "onnxruntime")
REFERENCE_FPS = 93.9
REFERENCE = "StreamDiffusion (published): SD-Turbo, 1 step, 512x512 img2img, TensorRT + tiny VAE, RTX 4090"
# How long each back end may take to get ready on the GPU (export, build, compile), at most.
# The caps add up to less than the budget, so every back end gets its turn.
PREPARE_CAP_S = {"compile": 80.0, "tensorrt": 100.0, "tensorrt-rtx": 45.0, "onnxruntime": 30.0}
MEASURE_RESERVE_S = 8.0  # kept back for measuring whatever is prepared

# stabilityai/sd-turbo's unet/config.json (the Stable Diffusion 2.1 UNet at 512 px)
SD_TURBO_UNET = dict(
    sample_size=64,
    in_channels=4,
    out_channels=4,
    center_input_sample=False,
    flip_sin_to_cos=True,
    freq_shift=0,
    down_block_types=("CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"),
    mid_block_type="UNetMidBlock2DCrossAttn",
    up_block_types=("UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"),
    only_cross_attention=False,
    block_out_channels=(320, 640, 1280, 1280),
    layers_per_block=2,
    downsample_padding=1,
    mid_block_scale_factor=1,
    act_fn="silu",
    norm_num_groups=32,
    norm_eps=1e-5,
    cross_attention_dim=1024,
    attention_head_dim=(5, 10, 20, 20),
    dual_cross_attention=False,
    use_linear_projection=True,
    upcast_attention=False,
    resnet_time_scale_shift="default",
)
# sd-turbo's scheduler: scaled-linear betas, epsilon prediction (the stream uses LCM's form of it)
SD_TURBO_SCHEDULER = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", prediction_type="epsilon")


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# -- the model ---------------------------------------------------------------------------

def sd_turbo_bundle(device: str, dtype: torch.dtype):
    """SD-Turbo's architecture with random weights: full UNet, TAESD, the SD VAE, and a
    one-layer random CLIP text encoder of width 1024 (text encoding is outside the frame loop)."""
    from diffusers import AutoencoderKL, AutoencoderTiny, LCMScheduler, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    from engine.diffusion.model_bundle import ModelBundle
    from engine.diffusion.tiny_model import tiny_tokenizer

    tokenizer = tiny_tokenizer()
    torch.manual_seed(0)
    with torch.device(device):  # initialise on the GPU: the 865M-parameter UNet in a second, not a minute
        unet = UNet2DConditionModel(**SD_TURBO_UNET)
        vae = AutoencoderKL(
            down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
            block_out_channels=(128, 256, 512, 512), layers_per_block=2, latent_channels=4, sample_size=512,
        )
        tiny_vae = AutoencoderTiny()  # the default config is TAESD's
        text_encoder = CLIPTextModel(CLIPTextConfig(
            vocab_size=len(tokenizer), hidden_size=1024, intermediate_size=1024, num_hidden_layers=1,
            num_attention_heads=16, max_position_embeddings=77, bos_token_id=tokenizer.bos_token_id,
            eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        ))
    for m in (unet, vae, tiny_vae, text_encoder):
        m.eval().requires_grad_(False)
    bundle = ModelBundle(
        name="sd-turbo architecture (random weights)", family="sd21", unet=unet, vae=vae, text_encoder=text_encoder,
        tokenizer=tokenizer, scheduler_config=dict(LCMScheduler(**SD_TURBO_SCHEDULER).config), tiny_vae=tiny_vae,
        is_turbo=True,
    )
    return bundle.to(device, dtype)


def tiny_bundle():
    from engine.diffusion.model_bundle import ModelBundle
    from engine.diffusion.tiny_model import tiny_components

    c = tiny_components()
    return ModelBundle(
        name="tiny", family="sd15", unet=c["unet"], vae=c["vae"], text_encoder=c["text_encoder"],
        tokenizer=c["tokenizer"], scheduler_config=dict(c["scheduler"].config), tiny_vae=c["tiny_vae"],
    )


# -- back ends ---------------------------------------------------------------------------

def install_backends(cache_root: Path, size: int | None) -> None:
    """Point the exporting back ends at ``cache_root``; TensorRT at one fixed size unless ``size`` is None."""
    from engine.accel.base import Backend, register
    from engine.accel.cache import EngineCache

    cache = EngineCache(cache_root)

    class AtSize(Backend):
        def __init__(self, inner):
            self.inner, self.name, self.label = inner, inner.name, inner.label

        def unavailable_reason(self):
            return self.inner.unavailable_reason()

        def prepare(self, bundle, spec, progress=None, cancel=None):
            if size is not None:
                spec = spec.with_(size_min=size, size_max=size, height_opt=size, width_opt=size)
            return self.inner.prepare(bundle, spec, progress, cancel)

    def factory(module: str, cls: str, wrap: bool):
        def make():
            import importlib

            backend = getattr(importlib.import_module(module), cls)(cache=cache)
            return AtSize(backend) if wrap else backend

        return make

    def ort_factory():
        from engine.accel.onnxruntime_backend import OnnxRuntimeBackend

        # On the GPU: ORT's CUDA provider only. Its TensorRT provider would build the UNet inside session
        # creation, uncached and uncancellable, past this check's budget; TensorRT is measured on its own.
        if torch.cuda.is_available():
            return OnnxRuntimeBackend(cache=cache, providers=["CUDAExecutionProvider"])
        return OnnxRuntimeBackend(cache=cache)

    try:
        register("onnxruntime", ort_factory)
    except Exception:
        pass
    register("tensorrt", factory("engine.accel.tensorrt_backend", "TensorRTBackend", True))
    register("tensorrt-rtx", factory("engine.accel.tensorrt_backend", "TensorRTRTXBackend", True))


def measure(bundle, name: str, size: int, prepare_s: float, warmup: int, frames: int, seconds: float,
            deadline: float | None = None) -> dict:
    """Prepare back end ``name`` in a stream (within ``prepare_s``) and time frames through it,
    stopping warm-up and measurement at ``deadline`` (time.monotonic) whatever the frame rate."""
    deadline = deadline if deadline is not None else float("inf")
    from engine.diffusion.stream import DiffusionStream, StreamSettings

    rng = np.random.default_rng(0)
    inputs = [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(4)]
    settings = StreamSettings(size=size, steps=1, strength=0.5, guidance="none", tiny_vae=True, accel=name,
                              prompts=(("a city street at night, neon", 1.0),))
    t0 = time.monotonic()
    stream = DiffusionStream(bundle, settings)  # asks for the back end: it prepares in the background
    try:
        if not stream.accel.wait(timeout=max(prepare_s, 0.0)):
            snap = stream.accel.snapshot()
            stream.accel.cancel()
            where = f" ({snap.progress_message}, {100 * (snap.progress or 0):.0f}%)" if snap.progress_message else ""
            return {"skipped": f"over budget: not ready after {prepare_s:.0f} s{where}"}
        stream.process_one(inputs[0])  # the frame edge where the prepared back end takes over
        if stream.accel.active != name:
            return {"skipped": _reason(name, stream.accel.last_error or f"did not take over ({stream.accel.status})")}
        ready = time.monotonic() - t0
        for i in range(warmup):  # CUDA graphs, autotuning, JIT kernels settle here
            if time.monotonic() > deadline:
                break
            stream.process_one(inputs[i % 4])
        _sync(bundle)
        n, start = 0, time.perf_counter()
        while (n < frames or (time.perf_counter() - start < seconds and n < 20 * frames)) and (n < 1 or time.monotonic() < deadline):
            stream.process_one(inputs[n % 4])
            n += 1
        _sync(bundle)
        elapsed = time.perf_counter() - start
        if stream.accel.active != name:
            return {"skipped": f"failed while measured: {_reason(name, stream.accel.last_error)}"}
        return {"fps": n / elapsed, "frames": n, "prepare_s": ready, "detail": stream.accel.status}
    except Exception as e:  # one back end's failure never stops the check
        return {"skipped": f"{type(e).__name__}: {' '.join(str(e).split())[:300]}"}
    finally:
        stream.accel.close()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def _reason(name: str, message: str) -> str:
    """The manager's report without its frame ('<name> back end failed: ...; eager keeps serving')."""
    message = message or "unknown failure"
    for head in (f"{name} back end failed while serving: ", f"{name} back end failed: "):
        if message.startswith(head):
            message = message[len(head):]
    for tail in ("; eager keeps serving", "; eager serves from now on"):
        if message.endswith(tail):
            message = message[: -len(tail)]
    return message


def _sync(bundle) -> None:
    if bundle.device.type == "cuda":
        torch.cuda.synchronize(bundle.device)


# -- report ------------------------------------------------------------------------------

def table(report: dict) -> str:
    eager = report["fps"].get("eager")
    lines = [
        f"DreamDeck GPU check: {report['model']}, {report['size']}x{report['size']} img2img, 1 step, "
        f"{report['dtype']}, {report['device']}",
        f"{'back end':<14}{'frames/s':>10}{'vs eager':>10}{'ready s':>9}  note",
    ]
    for name in report["backends"]:
        r = report["results"][name]
        if "fps" in r:
            ratio = f"{r['fps'] / eager:.2f}x" if eager else "-"
            lines.append(f"{name:<14}{r['fps']:>10.1f}{ratio:>10}{r['prepare_s']:>9.1f}  {r.get('detail', '')}")
        else:
            lines.append(f"{name:<14}{'-':>10}{'-':>10}{'-':>9}  skipped: {r['skipped']}")
    lines.append(f"{'reference':<14}{REFERENCE_FPS:>10.1f}{'':>10}{'':>9}  {REFERENCE}")
    best = report.get("best")
    if best:
        lines.append(f"best: {best} at {report['fps'][best]:.1f} frames/s, {report['best_vs_eager']:.2f}x eager, "
                     f"{report['fps'][best] / REFERENCE_FPS:.2f}x the reference; total {report['total_s']:.0f} s")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dry-run", action="store_true", help="CPU, the tiny model at --size 128, a few frames per back end")
    ap.add_argument("--json", action="store_true", help="print one JSON object (the table goes to stderr)")
    ap.add_argument("--backends", default=",".join(BACKENDS), help="comma-separated, in order (default: all)")
    ap.add_argument("--size", type=int, default=None, help="pixels (default 512; 128 with --dry-run)")
    ap.add_argument("--budget", type=float, default=None, help="seconds for the whole check, counted from the process start (default 280; 120 dry)")
    ap.add_argument("--full-range", action="store_true", help="build TensorRT engines for the app's 384-1024 range")
    ap.add_argument("--cache", type=Path, default=None, help="engine cache folder to keep (default: a temporary one)")
    args = ap.parse_args(argv)
    started = PROCESS_START
    dry = args.dry_run
    size = args.size or (128 if dry else 512)
    budget = args.budget or (120.0 if dry else 280.0)
    names = [n.strip() for n in args.backends.split(",") if n.strip()]
    unknown = [n for n in names if n not in BACKENDS]
    if unknown:
        ap.error(f"unknown back ends {unknown}; choose from {', '.join(BACKENDS)}")
    if not dry and not torch.cuda.is_available():
        log("no NVIDIA GPU here (torch.cuda.is_available() is False): this check needs one; --dry-run runs it on the CPU")
        return 2

    torch.set_grad_enabled(False)
    logging.getLogger("dreamdeck.accel").setLevel(logging.ERROR)  # failures are in the table, not twice
    cache_root = args.cache or Path(tempfile.mkdtemp(prefix="dreamdeck-gpu-check-"))
    install_backends(cache_root, None if args.full_range else size)
    if dry:
        bundle, dtype, device_name = tiny_bundle(), torch.float32, "cpu (dry run)"
        warmup, frames, seconds = 1, 3, 0.0
    else:
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
        torch.backends.cudnn.benchmark = True
        log("building the SD-Turbo-architecture UNet and TAESD (random weights) on the GPU ...")
        bundle, dtype = sd_turbo_bundle("cuda", torch.float16), torch.float16
        device_name = torch.cuda.get_device_name()
        warmup, frames, seconds = 10, 30, 3.0
    results = {}
    for i, name in enumerate(names):
        remaining = budget - (time.monotonic() - started)
        cap = 0.0 if name == "eager" else PREPARE_CAP_S.get(name, 60.0) if not dry else budget / 3
        prepare_s = min(cap, remaining - MEASURE_RESERVE_S) if name != "eager" else 0.0
        if name != "eager" and prepare_s < 5:
            results[name] = {"skipped": f"over budget: {remaining:.0f} s of the {budget:.0f} s check left"}
            log(f"{name}: {results[name]['skipped']}")
            continue
        log(f"{name}: preparing (up to {prepare_s:.0f} s) and measuring ...")
        deadline = started + budget - 5.0 * (len(names) - i - 1)  # a few seconds kept for each one still to come
        results[name] = measure(bundle, name, size, prepare_s, warmup, frames, seconds, deadline)
        log(f"{name}: " + (f"{results[name]['fps']:.2f} frames/s" if "fps" in results[name] else results[name]["skipped"]))
    fps = {n: r["fps"] for n, r in results.items() if "fps" in r}
    best = max(fps, key=fps.get) if fps else None
    report = {
        "model": "tiny model" if dry else "SD-Turbo-architecture UNet + TAESD (random weights)",
        "device": device_name, "size": size, "steps": 1, "dtype": str(dtype).replace("torch.", ""),
        "backends": names, "results": results, "fps": fps, "best": best,
        "best_vs_eager": (fps[best] / fps["eager"]) if best and fps.get("eager") else None,
        "reference": {"name": REFERENCE, "fps": REFERENCE_FPS}, "dry_run": dry,
        "total_s": time.monotonic() - started, "budget_s": budget,
    }
    if args.json:
        log(table(report))  # the table still goes to the log
        print(json.dumps(report, indent=1), flush=True)
    else:
        print(table(report), flush=True)
    if args.cache is None:
        shutil.rmtree(cache_root, ignore_errors=True)
    # a preparation that ran over budget may still be working in a background thread
    # (a compilation cannot be interrupted); do not wait for it
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
