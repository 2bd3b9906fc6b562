"""A file's sound decoded with PyAV on the pictures' time axis, and where a test tone in it starts, ends and
what pitch it has: the check of a render's (or a copy's) sound against the clip it came from.

Decoded here frame by frame from each frame's own timestamp, not through engine.media.reader, so the
reader's and the writer's idea of time are checked against PyAV's decoder directly."""

from __future__ import annotations

from dataclasses import dataclass

import av
import numpy as np

RATE = 48000


@dataclass(frozen=True)
class Tone:
    onset: float  # seconds after the first picture where the tone starts
    offset: float  # ... and ends
    pitch: float  # Hz, the spectrum's peak
    start: float  # seconds after the first picture where the decoded sound starts
    length: float  # seconds of decoded sound


def decode_sound(path) -> tuple[np.ndarray, float]:
    """Mono float32 at 48 kHz and the time of its first sample after the first picture (negative: before)."""
    with av.open(str(path)) as c:
        audio = c.streams.audio[0]
        video = c.streams.best("video")
        zero = float(video.start_time * video.time_base) if video is not None and video.start_time is not None else 0.0
        resampler = av.AudioResampler(format="flt", layout="mono", rate=RATE)
        first, chunks = None, []
        for frame in c.decode(audio):
            if first is None:
                first = float(frame.time) - zero
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    samples = np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)
    return samples, first or 0.0


def tone(path, threshold: float = 0.03) -> Tone:
    """Where the loud part of the file's sound is, and its pitch."""
    x, t0 = decode_sound(path)
    loud = np.flatnonzero(np.abs(x) > threshold)
    assert len(loud), f"{path} is silent"
    part = x[loud[0]:loud[-1] + 1]
    spectrum = np.abs(np.fft.rfft(part * np.hanning(len(part)), n=8 * len(part)))  # padded: a fine bin
    pitch = float(np.fft.rfftfreq(8 * len(part), 1 / RATE)[spectrum.argmax()])
    return Tone(t0 + loud[0] / RATE, t0 + (loud[-1] + 1) / RATE, pitch, t0, len(x) / RATE)
