"""Measured head-related impulse responses (MIT KEMAR) and the distance laws.

The committed file ``data/kemar_hrir.safetensors`` holds the KEMAR "normal pinna" set
(Gardner & Martin, MIT Media Lab, 1994) resampled to 48 kHz, each impulse response
shifted so that its onset sits at sample ``PRE_ROLL``, and the onsets themselves
(in samples, relative to the earliest onset of the whole set) kept apart. Interpolating
between measured directions blends the onset-aligned responses (no comb filtering) and
the onsets separately, then puts the interpolated onset back with a fractional shift.

Regenerate the file from the SOFA that Debian's ``libmysofa1`` ships with::

    python -m engine.audio.hrir --convert /usr/share/libmysofa/MIT_KEMAR_normal_pinna.sofa

Runtime needs only numpy and safetensors; the converter also needs h5py and scipy.
"""

from __future__ import annotations

import argparse
import functools
import math
from pathlib import Path

import numpy as np

from .types import SAMPLE_RATE, SPEED_OF_SOUND

DATA_DIR = Path(__file__).with_name("data")
DEFAULT_FILE = DATA_DIR / "kemar_hrir.safetensors"
CITATION = (
    'Gardner, B. and Martin, K., "HRTF Measurements of a KEMAR Dummy-Head Microphone", '
    "MIT Media Lab, 1994"
)

REFERENCE_DISTANCE = 1.4  # m, KEMAR's measurement distance: gain 1 there
MIN_DISTANCE = 0.25  # m, closer sources are clamped (no gain blow-up inside the head)
PRE_ROLL = 12  # samples kept before each aligned onset (resampling pre-ringing)
ALIGNED_LENGTH = 384  # samples of each onset-aligned response (8 ms at 48 kHz)
ONSET_THRESHOLD = 0.15  # fraction of the peak that marks the onset
_ONSET_OVERSAMPLE = 8


def distance_gain(r: float | np.ndarray) -> float | np.ndarray:
    """1/r law, gain 1 at ``REFERENCE_DISTANCE`` (1.4 m), clamped below ``MIN_DISTANCE``."""
    return REFERENCE_DISTANCE / np.maximum(r, MIN_DISTANCE)


def propagation_delay_samples(r: float | np.ndarray) -> float | np.ndarray:
    """Travel time of sound over ``r`` metres, in samples at 48 kHz."""
    if np.ndim(r):
        return np.asarray(r, dtype=np.float64) / SPEED_OF_SOUND * SAMPLE_RATE
    return float(r) / SPEED_OF_SOUND * SAMPLE_RATE


def direction_vector(azimuth_deg, elevation_deg) -> np.ndarray:
    """Unit vector(s) (..., 3) for SOFA azimuth/elevation in degrees (+x front, +y left, +z up)."""
    az, el = np.radians(azimuth_deg), np.radians(elevation_deg)
    return np.stack([np.cos(el) * np.cos(az), np.cos(el) * np.sin(az), np.sin(el)], axis=-1)


def fractional_shift(x: np.ndarray, shift: np.ndarray | float, length: int) -> np.ndarray:
    """Delay the rows of ``x`` (..., n) by ``shift`` samples (fractional, may be negative).

    Band-limited (a linear phase in the frequency domain) with zero padding so that
    nothing wraps around; the result is cut or padded to ``length`` samples.
    """
    n = x.shape[-1]
    nfft = 1 << int(math.ceil(math.log2(max(n, length) + int(np.max(np.abs(shift))) + 64)))
    spec = np.fft.rfft(x, nfft, axis=-1)
    k = np.arange(spec.shape[-1])
    shift = np.asarray(shift, dtype=np.float64)[..., None]
    spec = spec * np.exp(-2j * np.pi * k * shift / nfft)
    return np.fft.irfft(spec, nfft, axis=-1)[..., :length]


class HrirSet:
    """A set of measured HRIR pairs over the sphere with interpolation between them.

    ``irs`` (N, 2, L) float32 are onset-aligned (onset at ``PRE_ROLL``); ``onsets``
    (N, 2) float32 are each ear's delay in samples relative to the earliest in the set.
    Row 0 is the left ear.
    """

    def __init__(self, azimuths, elevations, irs, onsets, sample_rate: int = SAMPLE_RATE, source: str = ""):
        self.sample_rate = int(sample_rate)
        self.azimuths = np.asarray(azimuths, dtype=np.float64)
        self.elevations = np.asarray(elevations, dtype=np.float64)
        self.irs = np.ascontiguousarray(irs, dtype=np.float32)
        self.onsets = np.asarray(onsets, dtype=np.float32)
        self.source = source
        self.aligned_length = self.irs.shape[-1]
        self.max_onset = float(self.onsets.max())
        # Interpolated responses: aligned length plus room for the largest onset.
        self.length = self.aligned_length + int(math.ceil(self.max_onset)) + 4
        self._build_triangulation()

    # -- loading ---------------------------------------------------------------------------
    @staticmethod
    @functools.lru_cache(maxsize=1)
    def load_default() -> "HrirSet":
        return HrirSet.load(DEFAULT_FILE)

    @staticmethod
    def load(path: str | Path) -> "HrirSet":
        from safetensors import safe_open
        from safetensors.numpy import load_file

        tensors = load_file(str(path))
        with safe_open(str(path), framework="numpy") as f:
            meta = f.metadata() or {}
        return HrirSet(
            tensors["azimuths"], tensors["elevations"], tensors["irs"].astype(np.float32), tensors["onsets"],
            sample_rate=int(meta.get("sample_rate", SAMPLE_RATE)), source=meta.get("source", ""),
        )

    # -- interpolation ---------------------------------------------------------------------
    def _build_triangulation(self) -> None:
        from scipy.spatial import ConvexHull

        pts = direction_vector(self.azimuths, self.elevations)
        self._points = pts
        self._full = None
        hull = ConvexHull(pts)
        faces = hull.simplices  # (F, 3)
        # For a direction v, weights w with pts[face].T @ w = v; v is inside the face's
        # cone when all w >= 0. The origin is inside the hull, so every ray hits a face,
        # including straight down (the flat cap under the lowest measured ring).
        mats = np.transpose(pts[faces], (0, 2, 1))  # (F, 3, 3) columns = vertices
        self._faces = faces
        inv = np.linalg.inv(mats)  # (F, 3, 3)
        self._inv_rows = [np.ascontiguousarray(inv[:, k, :]) for k in range(3)]  # weight k = row k @ v

    def weights(self, azimuth_deg: float, elevation_deg: float) -> tuple[np.ndarray, np.ndarray]:
        """(indices (3,), weights (3,) summing to 1) of the measured directions to blend."""
        az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
        v = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        w0, w1, w2 = (r @ v for r in self._inv_rows)
        f = int(np.argmax(np.minimum(np.minimum(w0, w1), w2)))
        wf = np.maximum(np.array([w0[f], w1[f], w2[f]]), 0.0)
        return self._faces[f], wf / wf.sum()

    def interpolate_aligned(self, azimuth_deg: float, elevation_deg: float) -> tuple[np.ndarray, np.ndarray]:
        """(onset-aligned HRIR pair (2, aligned_length) float32, onset delays (2,) samples)."""
        idx, w = self.weights(azimuth_deg, elevation_deg)
        ir = np.tensordot(w.astype(np.float32), self.irs[idx], axes=1)
        onsets = w @ self.onsets[idx].astype(np.float64)
        return ir.astype(np.float32), onsets

    def interpolate(self, azimuth_deg: float, elevation_deg: float) -> np.ndarray:
        """The HRIR pair (2, length) float32 for a direction, interaural delay included."""
        ir, onsets = self.interpolate_aligned(azimuth_deg, elevation_deg)
        return fractional_shift(ir, onsets, self.length).astype(np.float32)

    def nearest(self, azimuth_deg: float, elevation_deg: float) -> int:
        """Index of the measured direction closest to (azimuth, elevation)."""
        az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
        v = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
        return int(np.argmax(self._points @ v))

    def quantized(self, azimuth_deg: float, elevation_deg: float) -> tuple[int, np.ndarray]:
        """(key, HRIR pair (2, length)) of the nearest measured direction, delay included.

        Cheaper than ``interpolate`` (a table look-up); used for room reflections.
        """
        if self._full is None:
            self._full = fractional_shift(self.irs, self.onsets, self.length).astype(np.float32)
        k = self.nearest(azimuth_deg, elevation_deg)
        return k, self._full[k]

    @property
    def mean_energy(self) -> float:
        """Mean energy of one ear's response over all measured directions."""
        return float(np.mean(np.sum(self.irs.astype(np.float64) ** 2, axis=-1)))


# -- conversion (offline, once) ---------------------------------------------------------------
def _onsets(x: np.ndarray) -> np.ndarray:
    """Sub-sample onset (first crossing of ONSET_THRESHOLD of the peak) of each row of x."""
    from scipy.signal import resample_poly

    up = resample_poly(x, _ONSET_OVERSAMPLE, 1, axis=-1)
    mag = np.abs(up)
    first = np.argmax(mag >= ONSET_THRESHOLD * mag.max(axis=-1, keepdims=True), axis=-1)
    return first / _ONSET_OVERSAMPLE


def convert(sofa_path: str | Path, out_path: str | Path = DEFAULT_FILE) -> Path:
    """Read a SimpleFreeFieldHRIR SOFA (h5py), resample to 48 kHz, align, write safetensors."""
    import h5py
    from safetensors.numpy import save_file
    from scipy.signal import resample_poly

    with h5py.File(str(sofa_path), "r") as f:
        ir = np.asarray(f["Data.IR"][:], dtype=np.float64)  # (M, 2, N), receiver 0 at +y: left
        fs = float(f["Data.SamplingRate"][0])
        pos = np.asarray(f["SourcePosition"][:], dtype=np.float64)  # az, el, r
        receivers = np.asarray(f["ReceiverPosition"][:]).reshape(-1, 3)
        name = f.attrs.get("ListenerShortName", b"KEMAR")
        name = name.decode() if isinstance(name, bytes) else str(name)
    if receivers[0, 1] < receivers[1, 1]:  # make row 0 the left ear
        ir = ir[:, ::-1]
    g = math.gcd(SAMPLE_RATE, int(round(fs)))
    x = resample_poly(ir, SAMPLE_RATE // g, int(round(fs)) // g, axis=-1)
    onsets = _onsets(x)
    base = onsets.min()
    aligned = fractional_shift(x, PRE_ROLL - onsets, ALIGNED_LENGTH)
    az = np.mod(pos[:, 0] + 180.0, 360.0) - 180.0
    out_path = Path(out_path)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "source": f"{Path(sofa_path).name} ({name}), SOFA SimpleFreeFieldHRIR, {fs:.0f} Hz, {ir.shape[0]} directions",
        "citation": CITATION,
        "sample_rate": str(SAMPLE_RATE),
        "pre_roll": str(PRE_ROLL),
        "onset_threshold": str(ONSET_THRESHOLD),
        "measurement_distance_m": f"{float(np.median(pos[:, 2])):.3f}",
        "converter": "python -m engine.audio.hrir --convert <sofa>",
    }
    save_file(
        {
            "azimuths": az.astype(np.float32),
            "elevations": pos[:, 1].astype(np.float32),
            "irs": aligned.astype(np.float32),
            "onsets": (onsets - base).astype(np.float32),
        },
        str(out_path),
        metadata=meta,
    )
    kept = np.sum(aligned**2, axis=-1) / np.sum(x**2, axis=-1)
    print(f"wrote {out_path} ({out_path.stat().st_size / 1e6:.2f} MB): {ir.shape[0]} directions, "
          f"{ALIGNED_LENGTH} taps, onsets {onsets.min():.1f}..{onsets.max():.1f} samples, "
          f"energy kept min {kept.min():.4f}")
    return out_path


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--convert", metavar="SOFA", required=True, help="SOFA file to convert")
    p.add_argument("--out", default=str(DEFAULT_FILE))
    a = p.parse_args(argv)
    convert(a.convert, a.out)


if __name__ == "__main__":
    main()
