"""``dreamdeck bench --accel``: frames/s of each acceleration back end, side by side.

One stream, one model, one size, the same input frames: every back end that
can run here is prepared once (export, session load, compilation; the time is
reported but not counted), then timed in interleaved rounds -- each round runs
every back end one after another, so a machine that gets busier or quieter
affects all of them alike -- and the median round is reported, with the ratio
to eager.  A back end that cannot run here is listed with the reason; one
that fails to prepare is listed with its error.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np
import torch

from .bench import BENCH_PROMPT, _fps, _frames, bench_frame, bench_model
from .errors import UserError

ROUNDS = 3


def _load_note() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"load average {one:.1f} (1 min), {five:.1f} (5 min) on {os.cpu_count()} CPUs"
    except OSError:
        return f"{os.cpu_count()} CPUs"


def run_accel_bench(a) -> int:
    from engine.accel import available, get_backend
    from engine.accel.cache import AccelBuildError
    from engine.diffusion.stream import DiffusionStream, StreamSettings
    from engine.params import ParamError, engine_store

    try:
        engine_store().update({"size": a.size, "steps": a.steps, "strength": a.strength, "guidance_scale": a.guidance_scale})
    except ParamError as e:
        raise UserError(str(e)) from None
    if a.frames < 4:
        raise UserError(f"--frames must be at least 4; got {a.frames}")
    width, height = bench_frame(a.size)
    report_all = available()
    wanted = list(report_all) if not a.backends else [b.strip() for b in a.backends.split(",") if b.strip()]
    unknown = [b for b in wanted if b not in report_all]
    if unknown:
        raise UserError(f"unknown back end {', '.join(unknown)}; known: {', '.join(report_all)}")
    if "eager" not in wanted:
        wanted.insert(0, "eager")  # the reference every ratio is taken against
    if getattr(a, "threads", None) is not None:
        if a.threads < 1:
            raise UserError(f"--threads must be at least 1; got {a.threads}")
        torch.set_num_threads(a.threads)  # ONNX Runtime's sessions take torch's count too
    say = (lambda *x: print(*x, file=sys.stderr, flush=True)) if a.json else (lambda *x: print(*x, flush=True))
    bundle = bench_model(a.model)
    settings = StreamSettings(width=width, height=height, steps=a.steps, strength=a.strength, guidance="self", guidance_scale=a.guidance_scale,
                              prompts=((BENCH_PROMPT, 1.0),),
                              tiny_vae=bundle.tiny_vae is not None)
    stream = DiffusionStream(bundle, settings)
    spec = stream.accel_spec()
    say(f"bench --accel: model {a.model!r}, {width}x{height}, {a.steps} steps, RCFG self, "
        f"{'tiny VAE' if settings.tiny_vae else 'full VAE'}, {torch.get_num_threads()} torch threads, device {bundle.device}; "
        f"{_load_note()}")

    prepared, unavailable, failed, prepare_s = {}, {}, {}, {}
    for name in wanted:
        reason = report_all[name]
        if reason:
            unavailable[name] = reason
            say(f"  {name:<14} unavailable: {reason}")
            continue
        if name == "eager":
            prepared[name] = None  # the modules themselves, as the stream serves them by default
            continue
        say(f"  {name:<14} preparing (not timed)...")
        t0 = time.perf_counter()
        try:
            prepared[name] = get_backend(name).prepare(bundle, spec)
        except AccelBuildError as e:
            failed[name] = str(e)
            say(f"  {name:<14} failed: {e}")
            continue
        prepare_s[name] = time.perf_counter() - t0

    per_round = max(4, a.frames // ROUNDS)
    frames = _frames(width, height, per_round + 2)

    def run(name):
        stream.accel.install(name, prepared[name])
        stream.restart()
        fps = _fps(stream.process_one, frames, warmup=2)  # the first call swaps the back end in
        assert stream.accel.active == name, stream.accel.snapshot()
        return fps

    for name in prepared:  # untimed: first calls at a shape pay one-off setup
        run(name)
    samples: dict[str, list[float]] = {n: [] for n in prepared}
    for _ in range(ROUNDS):
        for name in prepared:
            samples[name].append(run(name))
    fps = {n: float(np.median(v)) for n, v in samples.items()}
    eager = fps["eager"]
    ratios = {n: v / eager for n, v in fps.items()}
    others = {n: r for n, r in ratios.items() if n != "eager"}
    best = max(others, key=others.get) if others else "eager"

    report = {
        "model": a.model, "size": f"{width}x{height}", "steps": a.steps, "device": str(bundle.device), "torch_threads": torch.get_num_threads(),
        "fps": {n: round(v, 3) for n, v in fps.items()},
        "vs_eager": {n: round(r, 3) for n, r in ratios.items()},
        "best": best,
        "best_vs_eager": round(ratios[best], 3),
        "spread_percent": {n: round((max(v) - min(v)) / fps[n] * 100, 1) for n, v in samples.items()},
        "prepare_s": {n: round(v, 1) for n, v in prepare_s.items()},
        "unavailable": unavailable,
        "failed": failed,
        "rounds": ROUNDS,
        "machine": _load_note(),
    }
    for acc in prepared.values():
        if acc is not None:
            acc.close()
    if a.json:
        print(json.dumps(report))
        return 0
    print(f"frames/s, median of {ROUNDS} interleaved rounds of {per_round} frames:")
    for n in fps:
        extra = f"  (prepared in {prepare_s[n]:.1f} s)" if n in prepare_s else ""
        print(f"  {n:<14} {fps[n]:8.2f} frames/s  {ratios[n]:5.2f}x eager  (spread {report['spread_percent'][n]:4.1f}%){extra}")
    print(f"fastest: {best}, {report['best_vs_eager']:.2f}x eager")
    return 0
