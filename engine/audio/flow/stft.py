"""Streaming STFT / ISTFT whose block-by-block output equals the whole-signal output.

Framing: a frame is ``n_fft`` samples with a periodic sqrt-Hann window, one frame every
``hop`` samples, ``hop = n_fft // 2`` (sqrt-Hann analysis times sqrt-Hann synthesis is a
Hann window, whose copies at half overlap add up to one: perfect reconstruction).
Frame ``m`` ends at input sample ``(m + 1) * hop`` (``n_fft - hop`` zeros are implied
before the signal), so a frame exists as soon as its last sample has arrived.

Overlap-add finishes ``hop`` samples per frame; a fixed prefill of ``hop - 1`` zeros on
the output lets any block length come back at the same length, so the whole chain has
a constant delay of ``n_fft - 1`` samples (:func:`stft_latency`).
"""

from __future__ import annotations

import torch


def window(n_fft: int) -> torch.Tensor:
    return torch.hann_window(n_fft, periodic=True, dtype=torch.float32).sqrt()


def stft_latency(n_fft: int, hop: int) -> int:
    """Samples between an input sample and the first output sample it shapes (STFT -> ISTFT)."""
    return (n_fft - hop) + (hop - 1)


def frames_of(x: torch.Tensor, n_fft: int, hop: int, win: torch.Tensor) -> torch.Tensor:
    """Complex spectra of every whole frame of ``x`` (..., n) whose first sample is x[0].

    Returns (..., n_fft // 2 + 1, n_frames)."""
    n_frames = (x.shape[-1] - n_fft) // hop + 1
    if n_frames <= 0:
        return torch.zeros(*x.shape[:-1], n_fft // 2 + 1, 0, dtype=torch.complex64)
    seg = x.unfold(-1, n_fft, hop)[..., :n_frames, :] * win  # (..., T, n_fft)
    return torch.fft.rfft(seg, dim=-1).transpose(-1, -2)


def stft(x: torch.Tensor, n_fft: int, hop: int) -> torch.Tensor:
    """Offline STFT of (..., n): frames 0 .. n // hop - 1, the same frames the streaming one makes."""
    pad = torch.zeros(*x.shape[:-1], n_fft - hop, dtype=x.dtype)
    return frames_of(torch.cat([pad, x], dim=-1), n_fft, hop, window(n_fft))


def _overlap_add(spec: torch.Tensor, n_fft: int, hop: int, win: torch.Tensor) -> torch.Tensor:
    """Windowed inverse frames overlap-added: (..., F, T) -> (..., (T - 1) * hop + n_fft)."""
    frames = torch.fft.irfft(spec.transpose(-1, -2), n=n_fft, dim=-1) * win  # (..., T, n_fft)
    t = frames.shape[-2]
    lead = frames.shape[:-2]
    out = torch.nn.functional.fold(
        frames.reshape(-1, t, n_fft).transpose(1, 2), output_size=(1, (t - 1) * hop + n_fft), kernel_size=(1, n_fft), stride=(1, hop)
    )
    return out.reshape(*lead, (t - 1) * hop + n_fft)


def istft(spec: torch.Tensor, n: int, n_fft: int, hop: int) -> torch.Tensor:
    """Offline inverse with the streaming delay: output[k] = reconstruction[k - (n_fft - 1)], length n."""
    lead = spec.shape[:-2]
    prefill = torch.zeros(*lead, hop - 1)
    t = spec.shape[-1]
    if t == 0:
        return torch.zeros(*lead, n)
    ola = _overlap_add(spec, n_fft, hop, window(n_fft))[..., : t * hop]  # finished samples only
    out = torch.cat([prefill, ola], dim=-1)[..., :n]
    if out.shape[-1] < n:
        out = torch.cat([out, torch.zeros(*lead, n - out.shape[-1])], dim=-1)
    return out


class StreamingStft:
    """Feed samples in blocks of any length; get the frames that became whole."""

    def __init__(self, n_fft: int, hop: int, channels: int = 2):
        self.n_fft, self.hop, self.channels = n_fft, hop, channels
        self.win = window(n_fft)
        self.reset()

    def reset(self) -> None:
        self.buf = torch.zeros(self.channels, self.n_fft - self.hop)

    def push(self, x: torch.Tensor) -> torch.Tensor:
        """x (channels, n) -> complex (channels, F, new_frames)."""
        buf = torch.cat([self.buf, x], dim=-1)
        spec = frames_of(buf, self.n_fft, self.hop, self.win)
        used = spec.shape[-1] * self.hop
        self.buf = buf[:, used:]
        return spec


class StreamingIstft:
    """Feed frames; get exactly as many samples back as the caller asks for (fixed delay)."""

    def __init__(self, n_fft: int, hop: int, channels: int = 2):
        self.n_fft, self.hop, self.channels = n_fft, hop, channels
        self.win = window(n_fft)
        self.reset()

    def reset(self) -> None:
        self.tail = torch.zeros(self.channels, self.n_fft - self.hop)  # unfinished overlap-add
        self.ready = torch.zeros(self.channels, self.hop - 1)  # finished, not yet handed out

    def push(self, spec: torch.Tensor, n: int) -> torch.Tensor:
        """spec (channels, F, T) -> (channels, n) samples; n must not exceed what is finished."""
        t = spec.shape[-1]
        if t:
            ola = _overlap_add(spec, self.n_fft, self.hop, self.win)
            ola[:, : self.tail.shape[-1]] += self.tail
            self.ready = torch.cat([self.ready, ola[:, : t * self.hop]], dim=-1)
            self.tail = ola[:, t * self.hop :]
        if n > self.ready.shape[-1]:
            raise ValueError(f"asked for {n} samples, only {self.ready.shape[-1]} are finished")
        out, self.ready = self.ready[:, :n], self.ready[:, n:]
        return out
