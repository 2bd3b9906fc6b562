"""``dreamdeck bench --audio``: the binaural renderers side by side, speed and quality.

Speed: each renderer's real-time factor (processing time / audio duration) on
``--audio-seconds`` of source material fed in blocks of the live engine's block size
(``engine.audio.types.LIVE_BLOCK``, 2048 samples, the same for every renderer), with the
source orbiting at 30 degrees/s (so the filter crossfades are included), in one process, one renderer after another, with the
torch thread count the live render thread gets (``--audio-threads``, default 1).

Quality: the held-out test split of the simulated data (``engine.audio.simulate``,
never seen in training), each example rendered block by block from a fresh state with
its own poses, the renderer's latency shifted out, compared with the simulated target in
the metrics of ``engine.audio.metrics`` (waveform L2 printed x 1e3, STFT magnitude
distance, STFT phase distance in radians).  Rows:

* ``hrtf``: the anechoic HRTF renderer on every example (the baseline);
* ``hrtf_room``: the HRTF renderer with its own simple room on room examples;
* ``head``: the spherical-head model, anechoic;
* ``flow``: the flow renderer (room on for room examples, told each example's room
  geometry, off for anechoic ones), or ``null`` with the reason printed when it or its
  weights are missing;
* ``flow_prior``: the flow renderer's prior alone, no network (anechoic HRTF render plus
  the told room's first-order image sources): what the geometry gives before the flow.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

DEFAULT_EXAMPLES = 200
DEFAULT_SECONDS = 10.0


def _blocks(r, mono: np.ndarray, source, listener, block: int) -> np.ndarray:
    return np.concatenate([r.process(mono[i:i + block], source, listener) for i in range(0, len(mono), block)], axis=0)


def _render(r, mono: np.ndarray, source, listener, block: int) -> np.ndarray:
    """``mono`` through ``r`` from a fresh state, latency shifted out: (n, 2)."""
    r.reset()
    lat = int(r.latency_samples)
    x = np.concatenate([mono, np.zeros(lat, dtype=np.float32)]) if lat else mono
    y = _blocks(r, x, source, listener, block)
    return y[lat:lat + len(mono)]


ORBIT_DEG_S = 30.0  # the source moves while the real-time factor is measured: filter crossfades included


def _rtf(r, mono: np.ndarray, source, listener, block: int) -> float:
    from engine.audio.types import Pose, relative_direction

    _, el, dist = relative_direction(source, listener)
    poses = [Pose.from_spherical(ORBIT_DEG_S * i / 48_000, el, dist) for i in range(0, len(mono), block)]
    r.reset()
    _blocks(r, mono[: block * 4], source, listener, block)  # warm-up: first calls pay one-off setup
    r.reset()
    t0 = time.perf_counter()
    for k, i in enumerate(range(0, len(mono), block)):
        r.process(mono[i:i + block], poses[k], listener)
    return (time.perf_counter() - t0) / (len(mono) / 48_000)


def _cached(factory):
    made: dict[bool, object] = {}

    def make(room: bool):
        if room not in made:
            made[room] = factory(room)
        return made[room]
    return make


def _prior_only(room: bool):
    """A flow renderer whose flow stops at t = 0: its output is its prior (through the STFT pair)."""
    import copy
    import dataclasses

    from engine.audio.flow import DEFAULT_WEIGHTS, FlowRenderer, load_weights

    model = copy.copy(load_weights(DEFAULT_WEIGHTS))
    model.config = dataclasses.replace(model.config, t_end=0.0)
    return FlowRenderer(room=room, weights=model)


def _makers(say) -> dict:
    """name -> (label, block, make(room: bool) or None, why unavailable); make returns one renderer per room setting."""
    from engine.audio.types import LIVE_BLOCK as SPATIAL_BLOCK  # one block size for every renderer, as live

    out = {}
    try:
        from engine.audio.hrtf import HrtfRenderer

        out["hrtf"] = ("HRTF (KEMAR), anechoic", SPATIAL_BLOCK, _cached(lambda room: HrtfRenderer(room=False)), None)
        out["hrtf_room"] = ("HRTF + its simple room", SPATIAL_BLOCK, _cached(lambda room: HrtfRenderer(room=room)), None)
    except Exception as e:  # noqa: BLE001 - reported, not fatal
        out["hrtf"] = out["hrtf_room"] = ("HRTF", SPATIAL_BLOCK, None, f"{type(e).__name__}: {e}")
    try:
        from engine.audio.head import SphericalHeadRenderer

        out["head"] = ("spherical head, anechoic", SPATIAL_BLOCK, _cached(lambda room: SphericalHeadRenderer(room=False)), None)
    except Exception as e:  # noqa: BLE001
        out["head"] = ("spherical head", SPATIAL_BLOCK, None, f"{type(e).__name__}: {e}")
    try:
        from engine.audio.flow import FlowRenderer

        FLOW_BLOCK = SPATIAL_BLOCK

        make_flow = _cached(lambda room: FlowRenderer(room=room))
        make_flow(True)  # fails here, once, when the weights are missing or corrupt
        out["flow"] = ("flow (BinauralFlow-style)", FLOW_BLOCK, make_flow, None)
        out["flow_prior"] = ("flow prior alone (no network)", FLOW_BLOCK, _cached(lambda room: _prior_only(room)), None)
    except Exception as e:  # noqa: BLE001
        out["flow"] = ("flow", 2048, None, f"{type(e).__name__}: {e}")
        out["flow_prior"] = ("flow prior", 2048, None, out["flow"][3])
    for name, (_, _, make, why) in out.items():
        if make is None:
            say(f"  {name}: unavailable ({why})")
    return out


def run_audio_bench(a) -> int:
    import torch

    from engine.audio.metrics import binaural_metrics, mean_metrics
    from engine.audio.signals import source_signal
    from engine.audio.simulate import make_split
    from engine.audio.types import Pose

    from .errors import UserError

    examples = int(getattr(a, "audio_examples", DEFAULT_EXAMPLES))
    seconds = float(getattr(a, "audio_seconds", DEFAULT_SECONDS))
    example_seconds = float(getattr(a, "audio_example_seconds", 1.0))
    threads = int(getattr(a, "audio_threads", 1))
    if examples < 1 or seconds <= 0 or example_seconds <= 0 or threads < 1:
        raise UserError("--audio-examples, --audio-seconds, --audio-example-seconds and --audio-threads must be positive")
    say = (lambda *x: print(*x, file=sys.stderr)) if a.json else print
    torch.set_num_threads(threads)
    torch.set_grad_enabled(False)
    say(f"bench --audio: real-time factor over {seconds:g} s at each renderer's live block, {threads} torch thread(s); "
        f"quality on {examples} held-out test examples of {example_seconds:g} s")
    makers = _makers(say)

    report: dict = {"audio_seconds": seconds, "examples": examples, "example_seconds": example_seconds,
                    "torch_threads": threads}
    mono, _ = source_signal(1234, seconds, "test", kind="music")
    source, listener = Pose.from_spherical(60.0, 10.0, 2.0), Pose()
    say("real-time factor (processing time / audio time; below 1 keeps up):")
    for name in ("hrtf", "hrtf_room", "head", "flow"):
        label, block, make, why = makers[name]
        report[f"{name}_block"] = block
        if make is None:
            report[f"{name}_rtf"] = None
            continue
        rtf = _rtf(make(True), mono, source, listener, block)
        report[f"{name}_rtf"] = rtf
        say(f"  {label:<28} block {block:5d}  {rtf:8.4f}")

    test = make_split("test", examples, seconds=example_seconds, seed=0)
    rows: dict[str, list] = {n: [] for n in makers}
    for ex in test:
        room = ex.room_amount > 0.5
        for name, (_, block, make, _) in makers.items():
            if make is not None:
                r = make(room)
                if room and hasattr(r, "room_geometry"):
                    r.room_geometry = ex.room  # the renderer is told the room, as it is told the poses
                out = _render(r, ex.mono, ex.source, ex.listener, block)
                rows[name].append(binaural_metrics(out, ex.target))
    say(f"quality on the test split ({sum(e.room_amount > 0.5 for e in test)} room, "
        f"{sum(e.room_amount <= 0.5 for e in test)} anechoic examples); L2 x 1e3, magnitude, phase (rad):")
    say(f"  {'renderer':<28} {'L2 x1e3':>9} {'mag':>9} {'phase':>9}")
    for name, (label, _, make, _) in makers.items():
        m = mean_metrics(rows[name]) if rows[name] else {}
        for k in ("l2", "mag", "phase"):
            report[f"{name}_{k}"] = m.get(k)
        if m:
            say(f"  {label:<28} {m['l2'] * 1e3:9.4f} {m['mag']:9.4f} {m['phase']:9.4f}")
        else:
            say(f"  {label:<28} {'unavailable':>9}")
    report["l2_scale"] = "raw mean squared error (the table prints it x 1e3)"
    if a.json:
        print(json.dumps(report))
    return 0
