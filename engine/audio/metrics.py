"""Quality metrics for binaural renders, as in the binaural-synthesis literature.

The three numbers of Richard et al. 2021 ("Neural synthesis of binaural speech from mono
audio", ICLR; their ``src/losses.py``), used again by BinauralGrad (Leng et al. 2022) and
BinauralFlow (Liang et al. 2025).  Signals are (n, 2) arrays (column 0 the left ear);
both ears are pooled.

* **waveform L2** (``l2``): mean squared error of the waveforms, ``mean((pred - target)**2)``.
  The papers print it multiplied by 1e3; :func:`binaural_metrics` returns the raw mean and
  tables (``dreamdeck bench --audio``) print ``l2 x 1e3`` and say so.
* **magnitude distance** (``mag``): mean absolute difference of STFT magnitudes,
  ``mean(| |STFT(pred)| - |STFT(target)| |)`` over ears, frequency bins and frames.
* **phase distance** (``phase``): mean absolute angular difference (radians, in [0, pi])
  between the STFT phases, unweighted, over the time-frequency bins that carry energy in
  both signals: a bin counts where ``|Re| + |Im|`` of the target and of the prediction
  both exceed 0.1 x the mean of that quantity over the target's bins (Richard et al.'s
  mask; it keeps silent bins with random phase out of the mean).

The STFT is theirs: 2048-point FFT, 40 ms Hann window (1920 samples at 48 kHz), 10 ms
hop (480), centred frames with reflect padding, no normalisation.
"""

from __future__ import annotations

import numpy as np

from .types import SAMPLE_RATE

FFT_BINS = 2048
WINDOW_MS = 40
HOP_MS = 10
PHASE_MASK = 0.1


def _pair(pred: np.ndarray, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    p = np.asarray(pred, dtype=np.float64)
    t = np.asarray(target, dtype=np.float64)
    if p.shape != t.shape:
        raise ValueError(f"prediction {p.shape} and target {t.shape} differ in shape")
    if p.ndim == 1:
        p, t = p[:, None], t[:, None]
    return p, t


def stft(x: np.ndarray, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Complex STFT (channels, bins, frames) of ``x`` (n, channels), the metrics' settings."""
    import torch

    win = int(sample_rate * WINDOW_MS / 1000)
    hop = int(sample_rate * HOP_MS / 1000)
    sig = torch.from_numpy(np.ascontiguousarray(np.asarray(x, dtype=np.float64).T))
    n = sig.shape[-1]
    if n <= FFT_BINS // 2:  # reflect padding needs more samples than half a frame
        sig = torch.nn.functional.pad(sig, (0, FFT_BINS // 2 + 1 - n))
    spec = torch.stft(sig, n_fft=FFT_BINS, hop_length=hop, win_length=win,
                      window=torch.hann_window(win, dtype=torch.float64), center=True, return_complex=True)
    return spec.numpy()


def l2(pred: np.ndarray, target: np.ndarray) -> float:
    """Mean squared error of the waveforms (raw; the papers print it x 1e3)."""
    p, t = _pair(pred, target)
    return float(np.mean((p - t) ** 2))


def magnitude_distance(pred: np.ndarray, target: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Mean absolute difference of STFT magnitudes."""
    p, t = _pair(pred, target)
    return float(np.mean(np.abs(np.abs(stft(p, sample_rate)) - np.abs(stft(t, sample_rate)))))


def phase_distance(pred: np.ndarray, target: np.ndarray, sample_rate: int = SAMPLE_RATE) -> float:
    """Mean absolute angular difference (radians) of STFT phases over bins with energy in both."""
    p, t = _pair(pred, target)
    return _phase(stft(p, sample_rate), stft(t, sample_rate))


def _phase(sp: np.ndarray, st: np.ndarray) -> float:
    ep = np.abs(sp.real) + np.abs(sp.imag)
    et = np.abs(st.real) + np.abs(st.imag)
    ref = PHASE_MASK * et.mean()
    mask = (et > ref) & (ep > ref)
    if not mask.any():
        return 0.0
    d = np.abs(np.angle(sp[mask]) - np.angle(st[mask]))  # in [0, 2 pi): fold to [0, pi]
    return float(np.mean(np.pi - np.abs(d - np.pi)))


def binaural_metrics(pred: np.ndarray, target: np.ndarray, sample_rate: int = SAMPLE_RATE) -> dict[str, float]:
    """``{"l2": ..., "mag": ..., "phase": ...}`` for one (n, 2) prediction against its target."""
    p, t = _pair(pred, target)
    sp, st = stft(p, sample_rate), stft(t, sample_rate)
    return {"l2": float(np.mean((p - t) ** 2)), "mag": float(np.mean(np.abs(np.abs(sp) - np.abs(st)))),
            "phase": _phase(sp, st)}


def mean_metrics(rows: list[dict[str, float]]) -> dict[str, float]:
    """The mean of each metric over examples (equal-length examples: the papers' sample-weighted mean)."""
    if not rows:
        return {}
    return {k: float(np.mean([r[k] for r in rows])) for k in rows[0]}
