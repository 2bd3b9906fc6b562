"""``dreamdeck bench --pipeline`` and ``--power``: the live plumbing and its power use.

--pipeline: an identity "model" (no diffusion) at 512x512 in, 1280x720 out through
the recorder and the virtual-camera path (the real pyvirtualcam.Camera on a
registered in-memory backend), so what the engine costs is known apart from
model time.  Each stage is timed on the same frames in one thread; then the
threaded pipeline runs at 120 fps output for a few seconds to show what it
sustains.

--power: the tiny model live on a static and on a moving test pattern, with the
similarity filter on and off, reporting CPU-seconds per second of output (and
GPU joules where NVML measures them).  The filter exists to save power on a
still scene; the ratio moving/static with the filter on says how much.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from .loading import size_error


def _median_ms(fn, items, repeat=1) -> float:
    times = []
    for x in items:
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn(x)
        times.append((time.perf_counter() - t0) * 1000.0 / repeat)
    return float(np.median(times))


def run_pipeline_bench(a) -> int:
    import tempfile

    from engine.live.contracts import Frame, now
    from engine.live.output_stage import SafetySettings, ShowSafety
    from engine.live.pipeline import IdentityStage, LivePipeline
    from engine.live.slot import LatestSlot
    from engine.media.test_pattern import pattern_frame
    from engine.params import engine_store
    from engine.sinks.preview import PreviewSink
    from engine.sinks.recorder import RecorderSink
    from engine.sinks.memory_camera import MemoryCameraBackend, register_memory_backend
    from engine.sinks.virtual_camera import VirtualCameraSink

    say = (lambda *x: print(*x, file=sys.stderr)) if a.json else print
    w, h, size, n = 1280, 720, 512, 120
    frames = [pattern_frame(i / 30, size, size) for i in range(30)]
    register_memory_backend()
    tmp = tempfile.TemporaryDirectory()
    say(f"bench --pipeline: identity model, {size}x{size} in, {w}x{h} out, recorder (.mp4) + virtual camera (pyvirtualcam, in-memory backend)")

    # 1. each stage on its own, same frames
    slot: LatestSlot = LatestSlot()
    identity = IdentityStage(size)
    safety = ShowSafety(w, h)
    settings = SafetySettings()
    rec = RecorderSink(f"{tmp.name}/bench.mp4")
    rec.open(w, h, 30)
    cam = VirtualCameraSink(backend=MemoryCameraBackend.NAME)
    cam.open(w, h, 30)
    items = [frames[i % len(frames)] for i in range(n)]

    def handoff(img):
        slot.put(Frame(img, now(), 0))
        slot.get(after=0, timeout=0)

    composed = [safety.compose(f, f, settings, i / 30, i / 30) for i, f in enumerate(frames)]
    t_ts = iter(range(10**9))
    stages = {
        "slots_ms": _median_ms(handoff, items, repeat=2) * 2,  # capture->generate and generate->output
        "identity_model_ms": _median_ms(lambda f: identity.process([f]), items),
        "compose_ms": _median_ms(lambda f: safety.compose(f, f, settings, time.monotonic(), time.monotonic()), items),
        "virtual_camera_ms": _median_ms(lambda o: cam.send(o, 0.0), [composed[i % len(composed)] for i in range(n)]),
        "recorder_ms": _median_ms(lambda o: rec.send(o, next(t_ts) / 30), [composed[i % len(composed)] for i in range(n)]),
    }
    cam.close()
    rec.close()
    overhead = stages["slots_ms"] + stages["identity_model_ms"] + stages["compose_ms"] + stages["virtual_camera_ms"]

    # 2. the threaded pipeline, output paced at 120 fps, for a few seconds
    class Replay:
        name = "replay"

        def __init__(self):
            self.i = 0

        def availability(self):
            return None

        def open(self):
            pass

        def read(self):
            self.i += 1
            time.sleep(1 / 240)  # a fast camera: 240 fps of 512x512
            return Frame(frames[self.i % len(frames)], now(), self.i)

        def close(self):
            pass

    store = engine_store()
    store.update({"output_size": f"{w}x{h}", "output_fps": 120})
    p = LivePipeline(store, IdentityStage(size), Replay())
    p.add_sink(RecorderSink(f"{tmp.name}/threaded.mp4"))
    p.add_sink(VirtualCameraSink(backend=MemoryCameraBackend.NAME))
    p.add_sink(PreviewSink())
    cpu0, t0 = time.process_time(), time.monotonic()
    p.start()
    time.sleep(a.seconds)
    m = p.snapshot_metrics()
    p.stop()
    wall, cpu = time.monotonic() - t0, time.process_time() - cpu0
    tmp.cleanup()
    report = {
        **{k: round(v, 3) for k, v in stages.items()},
        "overhead_ms_per_frame": round(overhead, 3),
        "overhead_with_recorder_ms_per_frame": round(overhead + stages["recorder_ms"], 3),
        "pipeline_fps": round(1000.0 / (overhead + stages["recorder_ms"]), 1),
        "threaded_output_fps_at_120": round(m.output_fps, 1),
        "threaded_generate_fps": round(m.generate_fps, 1),
        "threaded_cpu_percent": round(100 * cpu / wall, 1),
        "threaded_latency_ms": None if m.latency_ms is None else round(m.latency_ms, 1),
    }
    if not a.json:
        for k, v in report.items():
            say(f"  {k:<38} {v}")
        say("overhead_ms_per_frame: slots + identity model + compose (fit, safety) + virtual camera send; "
            "the recorder's video encoding runs on its own thread and is listed apart")
    from .bench_recorder import recorder_costs

    say("recorder, per codec (engine/media/writer.py, stereo sound track included), against OpenCV's mp4v writer "
        "(what DreamDeck used before) on the same frames:")
    report["recorder_codecs"] = recorder_costs(say=say)
    if a.json:
        print(json.dumps(report))
    return 0


def run_power_bench(a) -> int:
    from engine.diffusion.stream import DiffusionStream, StreamSettings
    from engine.live.live_metrics import GpuProbe
    from engine.live.pipeline import LivePipeline
    from engine.params import engine_store
    from engine.sinks.preview import PreviewSink
    from engine.sources import make_source

    say = (lambda *x: print(*x, file=sys.stderr)) if a.json else print
    out_size = "1280x720"
    try:  # the frame --size gives on this output, checked before the model load
        width, height = StreamSettings.from_values({**engine_store().snapshot().values, "size": a.size, "output_size": out_size}).frame
    except ValueError as e:
        raise size_error(e) from None
    from .bench import bench_model

    bundle = bench_model(a.model)  # one line when it cannot load (and the styles' own bench named)
    gpu = GpuProbe()
    say(f"bench --power: model {a.model!r} at {width}x{height} live, {out_size} @ 30 fps out, {a.seconds:.0f} s per run")
    results = {}
    for scene in ("static", "moving"):
        for filt in (True, False):
            store = engine_store()
            store.update({"size": a.size, "steps": 2, "prompt.1.text": "neon jellyfish", "similarity_filter": filt,
                          "output_size": out_size, "output_fps": 30})
            stream = DiffusionStream(bundle, StreamSettings.from_values(store.snapshot().values))
            src = make_source("pattern:static" if scene == "static" else "pattern", width=width, height=height, fps=30)
            p = LivePipeline(store, stream, src)
            p.add_sink(PreviewSink())
            p.start()
            time.sleep(1.0)  # settle: pipeline filled, caches warm
            e0, cpu0, t0 = gpu.energy_j(), time.process_time(), time.monotonic()
            out0 = p.snapshot_metrics().frames_out
            time.sleep(a.seconds)
            m = p.snapshot_metrics()
            wall, cpu, e1 = time.monotonic() - t0, time.process_time() - cpu0, gpu.energy_j()
            p.stop()
            key = f"{scene}_filter_{'on' if filt else 'off'}"
            results[key] = {
                "cpu_s_per_s": round(cpu / wall, 3),
                "output_fps": round((m.frames_out - out0) / wall, 1),
                "generate_fps": round(m.generate_fps, 1),
                "skip_rate": round(m.skip_rate, 3),
                "gpu_j_per_s": None if e0 is None or e1 is None else round((e1 - e0) / wall, 2),
            }
            say(f"  {key:<20} {results[key]['cpu_s_per_s']:6.3f} CPU-s per s   skip {results[key]['skip_rate'] * 100:4.0f}%   "
                f"out {results[key]['output_fps']:5.1f} fps")
    report = {
        **results,
        "moving_over_static_cpu": round(results["moving_filter_on"]["cpu_s_per_s"] / results["static_filter_on"]["cpu_s_per_s"], 2),
        "static_filter_off_over_on_cpu": round(results["static_filter_off"]["cpu_s_per_s"] / results["static_filter_on"]["cpu_s_per_s"], 2),
    }
    if a.json:
        print(json.dumps(report))
    else:
        say(f"  moving_over_static_cpu (filter on)   {report['moving_over_static_cpu']:.2f}x")
        say(f"  static: filter off / on              {report['static_filter_off_over_on_cpu']:.2f}x  (paper: 2.39x less energy, RTX 3060)")
    return 0
