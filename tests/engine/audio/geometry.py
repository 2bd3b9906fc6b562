"""Geometry checks any binaural renderer must pass, shared by the renderer tests.

Every check takes a *factory*: a callable returning a fresh ``BinauralRenderer``
(for example ``lambda: HrtfRenderer()``), renders real signals through it and returns
numbers; the tests decide the tolerances. Conventions: output column 0 is the left ear;
an ITD is positive when the left ear leads; an ILD is positive when the left ear is louder.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
from scipy.signal import butter, sosfilt

from engine.audio.types import HEAD_RADIUS, SAMPLE_RATE, SPEED_OF_SOUND, BinauralRenderer, Pose

Factory = Callable[[], BinauralRenderer]
FS = SAMPLE_RATE


# -- signals ------------------------------------------------------------------------------------
def noise_burst(seconds: float = 0.25, seed: int = 0, pad: float = 0.15) -> np.ndarray:
    """White noise with 5 ms raised-cosine edges, then ``pad`` s of silence (room for delays)."""
    n = int(seconds * FS)
    x = np.random.default_rng(seed).standard_normal(n)
    e = int(0.005 * FS)
    w = 0.5 - 0.5 * np.cos(np.pi * np.arange(e) / e)
    x[:e] *= w
    x[-e:] *= w[::-1]
    return np.concatenate([x, np.zeros(int(pad * FS))]).astype(np.float32) * 0.3


def tone(freq: float, seconds: float, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    return (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def lowpass(x: np.ndarray, cutoff: float = 1500.0, order: int = 8) -> np.ndarray:
    """The same Butterworth low-pass on every column (equal phase on both ears)."""
    return sosfilt(butter(order, cutoff, "low", fs=FS, output="sos"), np.asarray(x, np.float64), axis=0)


# -- render helpers -----------------------------------------------------------------------------
def render(factory: Factory, mono: np.ndarray, source: Pose, block: int | None = None,
           listener: Pose | None = None) -> np.ndarray:
    """Render ``mono`` with a static source, in one call or in blocks of ``block``."""
    r = factory()
    kw = {} if listener is None else {"listener": listener}
    if block is None:
        return np.asarray(r.process(mono, source, **kw), np.float64)
    outs = [r.process(mono[i:i + block], source, **kw) for i in range(0, len(mono), block)]
    return np.concatenate(outs).astype(np.float64)


# -- measures -----------------------------------------------------------------------------------
def woodworth_itd(azimuth_deg: float, elevation_deg: float = 0.0, radius: float = HEAD_RADIUS) -> float:
    """Woodworth's ITD (s), (a/c)(theta + sin theta) at lateral angle theta; + when left leads."""
    lat = math.asin(max(-1.0, min(1.0, math.cos(math.radians(elevation_deg)) * math.sin(math.radians(azimuth_deg)))))
    return radius / SPEED_OF_SOUND * (lat + math.sin(lat))


def itd_seconds(stereo: np.ndarray, cutoff: float = 1500.0, max_lag_s: float = 0.001) -> float:
    """Interaural time difference by cross-correlation of the low-passed ears (+ left leads)."""
    y = lowpass(stereo, cutoff)
    left, right = y[:, 0], y[:, 1]
    n = len(left)
    nfft = 1 << (2 * n - 1).bit_length()
    c = np.fft.irfft(np.conj(np.fft.rfft(left, nfft)) * np.fft.rfft(right, nfft), nfft)  # c[k] = sum L[t] R[t+k]
    m = int(max_lag_s * FS)
    lags = np.arange(-m, m + 1)
    vals = c[lags % nfft]
    i = int(np.argmax(vals))
    frac = 0.0
    if 0 < i < len(vals) - 1:  # parabolic refinement
        a, b, d = vals[i - 1], vals[i], vals[i + 1]
        den = a - 2 * b + d
        frac = 0.5 * (a - d) / den if den != 0 else 0.0
    return (lags[i] + frac) / FS


def ild_db(stereo: np.ndarray) -> float:
    """Left minus right level (dB) over the whole signal."""
    e = np.sum(np.asarray(stereo, np.float64) ** 2, axis=0)
    return float(10 * np.log10(e[0] / e[1]))


def level_db(stereo: np.ndarray) -> float:
    """Total energy of both ears (dB)."""
    return float(10 * np.log10(np.sum(np.asarray(stereo, np.float64) ** 2)))


# -- checks (return numbers; the tests hold the tolerances) -------------------------------------
def itd_vs_woodworth(factory: Factory, azimuths=(0, 15, 30, 45, 60, 75, 90), distance: float = 1.4,
                     cutoff: float = 1500.0) -> list[tuple[float, float, float]]:
    """[(azimuth, measured ITD s, Woodworth ITD s)] for sources on the horizontal plane."""
    x = noise_burst()
    rows = []
    for az in azimuths:
        y = render(factory, x, Pose.from_spherical(az, 0.0, distance))
        rows.append((float(az), itd_seconds(y, cutoff), woodworth_itd(az)))
    return rows


def ild_mirror(factory: Factory, azimuths=(30, 60, 90, 120), distance: float = 1.4) -> list[tuple[float, float, float]]:
    """[(azimuth, ILD at +az dB, ILD at -az dB)]: mirror symmetry means ILD(-az) = -ILD(az)."""
    x = noise_burst()
    rows = []
    for az in azimuths:
        a = ild_db(render(factory, x, Pose.from_spherical(az, 0.0, distance)))
        b = ild_db(render(factory, x, Pose.from_spherical(-az, 0.0, distance)))
        rows.append((float(az), a, b))
    return rows


def level_vs_distance(factory: Factory, distances=(0.35, 0.7, 1.4, 2.8, 5.6), azimuth: float = 30.0) -> list[float]:
    """Output level (dB) at each distance; the burst's pad leaves room for the delay."""
    x = noise_burst(pad=0.05 + max(distances) / SPEED_OF_SOUND)
    return [level_db(render(factory, x, Pose.from_spherical(azimuth, 0.0, d))) for d in distances]


def causality_leak(factory: Factory, cut: int = 12_000, azimuth: float = 40.0, block: int | None = None) -> float:
    """Largest change of output before ``cut`` when only input from ``cut`` on changes."""
    x = noise_burst(seconds=0.5, pad=0.0)
    x2 = x.copy()
    x2[cut:] = np.random.default_rng(7).standard_normal(len(x) - cut).astype(np.float32)
    src = Pose.from_spherical(azimuth, 0.0, 1.0)
    a, b = render(factory, x, src, block), render(factory, x2, src, block)
    return float(np.max(np.abs(a[:cut] - b[:cut])))


def streaming_vs_offline(factory: Factory, azimuth: float = -50.0, elevation: float = 10.0, distance: float = 2.0,
                         seconds: float = 1.0, seed: int = 3) -> float:
    """Max |offline - streamed| (blocks of random length 1..3000) for a static source."""
    rng = np.random.default_rng(seed)
    x = noise_burst(seconds=seconds, seed=seed)
    src = Pose.from_spherical(azimuth, elevation, distance)
    offline = render(factory, x, src)
    r = factory()
    outs, i = [], 0
    while i < len(x):
        n = int(rng.integers(1, 3000))
        outs.append(r.process(x[i:i + n], src))
        i += n
    return float(np.max(np.abs(offline - np.concatenate(outs))))


def orbit(factory: Factory, mono: np.ndarray, block: int, speed_deg_s: float, distance: float = 1.4,
          elevation: float = 0.0, configure: Callable[[BinauralRenderer], None] | None = None) -> np.ndarray:
    """Render ``mono`` with the source orbiting at ``speed_deg_s``, one pose per block."""
    r = factory()
    if configure:
        configure(r)
    outs = []
    for i in range(0, len(mono), block):
        az = speed_deg_s * (i + block / 2) / FS
        outs.append(r.process(mono[i:i + block], Pose.from_spherical(az, elevation, distance)))
    return np.concatenate(outs).astype(np.float64)


def block_edge_ratio(stereo: np.ndarray, block: int, skip: int = 4800) -> float:
    """Clicks at block edges: largest |second difference| within 2 samples of a block edge,
    over the largest |second difference| elsewhere (ignoring the first ``skip`` samples).
    A smooth render of a low tone gives about 1 or less; a step at an edge gives much more.
    """
    d2 = np.abs(np.diff(np.asarray(stereo, np.float64), n=2, axis=0)).max(axis=1)
    idx = np.arange(len(d2)) + 1  # d2[k] is centred on sample k+1
    phase = idx % block
    near = (phase <= 2) | (phase >= block - 2)
    keep = idx >= skip
    return float(d2[near & keep].max() / d2[~near & keep].max())


def energy_after(stereo: np.ndarray, start: int, stop: int | None = None) -> float:
    """Energy of both ears in samples [start, stop)."""
    return float(np.sum(np.asarray(stereo, np.float64)[start:stop] ** 2))
