"""What recording costs per frame, per codec, at 720p and 1080p (part of ``dreamdeck bench --pipeline``).

The baseline is what DreamDeck wrote before PyAV: OpenCV's ``mp4v`` writer, timed on the same
frames in the same run.  Each codec writes the same moving test pattern (with a stereo sound
track, as a show recording has) through :class:`engine.media.writer.MediaWriter` with the recorder's settings (crash-safe, realtime); the figures
are wall milliseconds per frame over the whole clip (encoders that keep frames in flight, like
x264, are timed to their last packet) and CPU milliseconds per frame (all the encoder's threads:
what the recording takes from the model on a busy machine), plus megabytes per minute.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import numpy as np

SIZES = ((1280, 720), (1920, 1080))
CODECS = ("h264", "hevc", "prores", "prores_lt", "hap", "hap_q", "dnxhr", "mp4v")
EXT = {"prores": ".mov", "prores_lt": ".mov", "hap": ".mov", "hap_q": ".mov", "dnxhr": ".mov"}


def _frames(w: int, h: int, n: int) -> list[np.ndarray]:
    from engine.media.test_pattern import pattern_frame

    return [pattern_frame(i / 30, w, h) for i in range(n)]


def _opencv_mp4v(path: Path, frames: list[np.ndarray]) -> None:
    import cv2

    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (frames[0].shape[1], frames[0].shape[0]))
    for f in frames:
        w.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))  # as the old writer did: RGB in, BGR to OpenCV
    w.release()


def _pyav(path: Path, frames: list[np.ndarray], codec: str) -> str:
    from engine.media.writer import AudioFormat, MediaWriter

    sound = np.zeros((1600, 2), np.float32)  # a frame's worth of stereo at 48 kHz
    with MediaWriter(path, 30.0, (frames[0].shape[1], frames[0].shape[0]), codec=codec, audio=AudioFormat(),
                     crash_safe=True, realtime=True) as w:  # as the show recorder writes
        for f in frames:
            w.write(f)
            w.write_audio(sound)
    return w.encoder


def _timed(fn) -> tuple[float, float]:
    cpu0, t0 = time.process_time(), time.perf_counter()
    fn()
    return time.perf_counter() - t0, time.process_time() - cpu0


def recorder_costs(frames_per_size: int = 60, codecs=CODECS, say=print) -> dict:
    """codec -> size -> {wall_ms, cpu_ms, mb_per_min, ratio_to_opencv_mp4v}; printed as it goes."""
    out: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for w, h in SIZES:
            frames = _frames(w, h, frames_per_size)
            n = len(frames)
            key = f"{w}x{h}"
            rows = []
            base = Path(tmp) / f"opencv-{key}.mp4"
            wall, cpu = _timed(lambda: _opencv_mp4v(base, frames))
            baseline = wall
            rows.append(("mp4v (OpenCV, before)", "opencv", wall, cpu, base))
            for codec in codecs:
                path = Path(tmp) / f"{codec}-{key}{EXT.get(codec, '.mp4')}"
                holder: dict = {}
                try:
                    wall, cpu = _timed(lambda: holder.setdefault("encoder", _pyav(path, frames, codec)))
                except Exception as e:  # a codec this build lacks: said, and the others go on
                    say(f"  {key} {codec:<10} skipped: {e}")
                    continue
                rows.append((codec, holder["encoder"], wall, cpu, path))
            for name, encoder, wall, cpu, path in rows:
                mb_min = os.path.getsize(path) / 1e6 / (n / 30.0) * 60.0
                entry = {"encoder": encoder, "wall_ms": round(1000 * wall / n, 2), "cpu_ms": round(1000 * cpu / n, 2),
                         "mb_per_min": round(mb_min, 1), "ratio_to_opencv_mp4v": round(wall / baseline, 2)}
                out.setdefault(name, {})[key] = entry
                say(f"  {key} {name:<22} {encoder:<10} {entry['wall_ms']:>7.2f} ms/frame wall "
                    f"{entry['cpu_ms']:>7.2f} ms/frame CPU {entry['mb_per_min']:>7.1f} MB/min  x{entry['ratio_to_opencv_mp4v']:.2f}")
    return out
