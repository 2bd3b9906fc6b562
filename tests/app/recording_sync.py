"""A show recording's sound against its pictures: clicks on flashes, measured in the file.

A generated clip (30 fps, a white frame on black every 0.5-0.7 s, a click in its sound exactly at
each flash) plays as the file source through the live pipeline (the identity stage: the pictures
as they are, with the pipeline's real threads and latency), its own sound through the audio engine
(``--audio-in source``, the hrtf renderer, PulseAudio's null sink), and the show is recorded to
H.264 + AAC. The recording is decoded with PyAV: flashes by the frames' mean brightness, clicks by
the sound's envelope, each at its own timestamp; every flash is matched to the click nearest to it.

Used by tests/app/test_recording_sync.py (60 s); as a script it measures longer recordings:

    .venv/bin/python tests/app/recording_sync.py --minutes 10
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
for p in (ROOT, ROOT / "tests", ROOT / "tests" / "engine" / "audio"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

from av_marks import SyncReport, measure, write_flash_clip  # noqa: E402

FPS = 30
RATE = 48_000
CLICK_S = 0.010  # a burst of noise with a sharp start


def flash_frames(seconds: float, fps: int = FPS, seed: int = 3) -> list[int]:
    """Frame numbers of the flashes: every 15-21 frames (0.5-0.7 s), irregular so that no two gaps mislead a match."""
    rng = np.random.default_rng(seed)
    frames, k = [], fps // 2
    while k < seconds * fps - fps // 2:
        frames.append(k)
        k += int(rng.integers(15, 22))
    return frames


def make_clip(path: Path, seconds: float = 20.0, size=(160, 120)) -> list[float]:
    """H.264 + AAC MP4 written with PyAV directly (not DreamDeck's writer); returns the flash times (s)."""
    flashes = flash_frames(seconds)
    n_frames = int(seconds * FPS)
    rng = np.random.default_rng(5)
    sound = np.zeros((int(seconds * RATE), 2), np.float32)
    burst = (0.6 * rng.uniform(-1, 1, int(CLICK_S * RATE))).astype(np.float32)
    for k in flashes:
        i = round(k * RATE / FPS)
        sound[i:i + len(burst)] = burst[:, None]
    write_flash_clip(path, [k / FPS for k in range(n_frames)], set(flashes), sound, size, FPS, RATE, crf="18")
    return [k / FPS for k in flashes]


# -- the show ------------------------------------------------------------------------------------------

def record_show(clip: Path, out: Path, seconds: float, say=print, model: bool = True) -> dict:
    """Play ``clip`` with its sound through the audio engine and record ``seconds`` of the show to ``out``
    (``model``: through the identity stage, whose latency the pipeline measures; else no model: the input shown
    as it is, its latency taken as half an output frame)."""
    from app.session import SessionConfig, ShowSession
    from engine.live.pipeline import IdentityStage
    from engine.params.catalog import engine_store

    store = engine_store()
    store.update({"output_size": "640x360", "output_fps": FPS, "record_codec": "h264", "audio_renderer": "hrtf",
                  "av_delay": 0.0})
    config = SessionConfig(source=f"file:{clip}", audio_in="source", audio_out="dd_out", sinks=(f"record:{out}",),
                           fresh=True)
    session = ShowSession(store, config, generator=IdentityStage(128) if model else None)
    lines = session.start(load_model=False)
    say("; ".join(lines))
    try:
        start = time.monotonic()
        while time.monotonic() - start < seconds:
            time.sleep(min(5.0, seconds - (time.monotonic() - start)))
            st = session.status()
            a = st.audio.running
            say(f"  {time.monotonic() - start:5.0f} s: out {st.pipeline.output_fps:.1f} fps, latency "
                f"{st.pipeline.latency_ms or 0:.0f} ms, sinks {st.pipeline.sinks}, audio "
                + (f"{a.renderer} {a.device_status} xruns {a.xruns} underruns {a.underruns}" if a else str(st.audio.error)))
        st = session.status()
        engine = session.audio.engine
        source = engine.source if engine is not None else None
        result = {"faults": st.pipeline.faults, "sinks": st.pipeline.sinks,
                  "audio": st.audio.running, "resyncs": getattr(source, "resyncs", None),
                  "latency_ms": st.pipeline.latency_ms}
        sink = session.sink(next(iter(st.pipeline.sinks)))
        track = getattr(sink, "track", None)
    finally:
        session.stop()
    if track is not None:
        result["track"] = {"silence_s": track.silence / RATE, "left_out_s": track.left_out / RATE,
                           "corrections": track.corrections}
    return result


def run(seconds: float, folder: Path, say=print, model: bool = True) -> tuple[SyncReport, dict]:
    from pulse import pulse_server

    clip = folder / "flashes.mp4"
    make_clip(clip)
    server = pulse_server()
    try:
        result = record_show(clip, folder / "show.mp4", seconds, say, model)
    finally:
        server.close()
    report = measure(folder / "show.mp4")
    return report, result


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=10.0)
    ap.add_argument("--no-model", action="store_true", help="no model stage: the input shown as it is")
    ap.add_argument("--keep", metavar="DIR", help="write the clip and the recording here (default: a temporary folder)")
    a = ap.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(a.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        report, result = run(a.minutes * 60.0, folder, model=not a.no_model)
    print(result)
    print(report.line())
    return 0 if report.offsets_ms and report.max_abs_ms < 1000.0 / FPS else 1


if __name__ == "__main__":
    sys.exit(main())
