"""Flashes in a video file's pictures and clicks in its sound, each at its own timestamp (PyAV), and how
far apart they are: the measure of audio/video sync the recorder tests share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


def flash_times(path: Path) -> tuple[list[float], int, float]:
    """Times (s, from each frame's own timestamp) where a frame turns bright after a dark one; the frames decoded;
    where the last one ends."""
    import av

    times, was, n, end = [], False, 0, 0.0
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            n += 1
            end = float(f.time) + float(f.duration * f.time_base if f.duration else 0)
            bright = f.to_ndarray(format="gray").mean() > 40  # a letterboxed white frame is ~140, black 16
            if bright and not was:
                times.append(float(f.time))
            was = bright
    return times, n, end


def click_times(path: Path, threshold: float = 0.1, gap_s: float = 0.2) -> tuple[list[float], float]:
    """Times (s, from the sound frames' own timestamps) where the sound rises above ``threshold`` after
    ``gap_s`` of quiet; and where the sound ends."""
    import av

    times, last_loud, end = [], -1.0, 0.0
    with av.open(str(path)) as c:
        for f in c.decode(audio=0):
            x = np.abs(f.to_ndarray()).max(axis=0)  # planar (channels, n): the louder ear
            t0 = float(f.time)
            end = t0 + len(x) / f.sample_rate
            for i in np.nonzero(x > threshold)[0]:
                t = t0 + i / f.sample_rate
                if t - last_loud > gap_s:
                    times.append(t)
                last_loud = t
    return times, end


@dataclass
class SyncReport:
    flashes: int
    clicks: int
    offsets_ms: list[float]  # click minus flash, for each flash with a click within 250 ms
    video_s: float  # frames / fps
    video_end: float  # where the pictures end (s, on the file's timeline)
    audio_end: float  # where the sound ends

    @property
    def mean_ms(self) -> float:
        return float(np.mean(self.offsets_ms)) if self.offsets_ms else float("nan")

    @property
    def max_abs_ms(self) -> float:
        return float(np.max(np.abs(self.offsets_ms))) if self.offsets_ms else float("nan")

    def line(self) -> str:
        o = np.asarray(self.offsets_ms)
        return (f"{len(o)} of {self.flashes} flashes matched a click ({self.clicks} clicks) over {self.video_s:.1f} s of "
                f"video (ends at {self.video_end:.3f} s, the sound at {self.audio_end:.3f} s): offset (sound minus picture) mean {self.mean_ms:+.1f} ms, "
                f"max |offset| {self.max_abs_ms:.1f} ms, sd {o.std():.1f} ms, range {o.min():+.1f}..{o.max():+.1f} ms")


def measure(path: Path, fps: float = 30.0) -> SyncReport:
    """Each flash matched to the click nearest to it (within 250 ms)."""
    flashes, n, video_end = flash_times(path)
    clicks, audio_end = click_times(path)
    offsets = []
    c = np.asarray(clicks)
    for t in flashes:
        if len(c):
            j = int(np.argmin(np.abs(c - t)))
            if abs(c[j] - t) < 0.25:
                offsets.append((c[j] - t) * 1000.0)
    return SyncReport(len(flashes), len(clicks), offsets, n / fps, video_end, audio_end)


def write_flash_clip(path: Path, times: list[float], flashes: set[int], sound: np.ndarray, size=(160, 120),
                     fps: int = 30, rate: int = 48_000, crf: str | None = None) -> None:
    """An H.264 + AAC MP4 written with PyAV directly (not DreamDeck's writer): frame k at ``times[k]`` seconds
    (on a 1/fps grid; a variable rate when the gaps differ), white when k is in ``flashes``, else black, with
    ``sound`` (float32 (n, 2) at ``rate``)."""
    from fractions import Fraction

    import av

    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "bf": "0", **({"crf": crf} if crf else {})})
        v.width, v.height, v.pix_fmt = size[0], size[1], "yuv420p"
        v.codec_context.time_base = Fraction(1, fps)
        a = c.add_stream("aac", rate=rate, layout="stereo")
        black = np.zeros((size[1], size[0], 3), np.uint8)
        white = np.full_like(black, 255)
        for k, t in enumerate(times):
            f = av.VideoFrame.from_ndarray(white if k in flashes else black, format="rgb24")
            f.pts, f.time_base = round(t * fps), Fraction(1, fps)
            c.mux(v.encode(f))
        c.mux(v.encode())
        for i in range(0, len(sound), 1024):
            f = av.AudioFrame.from_ndarray(np.ascontiguousarray(sound[i:i + 1024].T), format="fltp", layout="stereo")
            f.sample_rate, f.pts = rate, i
            c.mux(a.encode(f))
        c.mux(a.encode())
