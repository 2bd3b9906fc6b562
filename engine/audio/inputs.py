"""Mono sources for the live audio engine: a sound file (looped) or an input device.

Both hand the render thread float32 mono blocks at 48 kHz through ``read(n)``.
A file is read once with soundfile, mixed to mono and resampled with
``scipy.signal.resample_poly``; it loops without a seam. A device is captured by
a sounddevice InputStream whose callback only copies into a ring buffer.
"""

from __future__ import annotations

import os
from fractions import Fraction

import numpy as np

from .devices import AudioDeviceError, DeviceChoice, choose_device, sounddevice
from .ring import RingBuffer
from .types import SAMPLE_RATE


class AudioInputError(RuntimeError):
    """The input cannot be used; the message says why."""


class AudioInput:
    """A mono source. ``live`` inputs deliver at their own pace; others deliver on demand."""

    live = False
    label = "silence"

    def read(self, n: int) -> np.ndarray:
        return np.zeros(n, np.float32)

    def available(self) -> int:
        """Samples ready now (on-demand inputs: as many as asked)."""
        return 1 << 30

    def open(self) -> None: ...

    def close(self) -> None: ...


class ArrayInput(AudioInput):
    """A signal already in memory (48 kHz mono), looped or followed by silence."""

    def __init__(self, signal: np.ndarray, loop: bool = True, label: str = "signal"):
        sig = np.asarray(signal, dtype=np.float32)
        if sig.ndim != 1 or len(sig) == 0:
            raise AudioInputError("an audio signal must be a non-empty mono array")
        self.signal, self.loop, self.label = sig, loop, label
        self.pos = 0

    def read(self, n: int) -> np.ndarray:
        out = np.zeros(n, np.float32)
        sig, L, k = self.signal, len(self.signal), 0
        while k < n:
            if self.pos >= L:
                if not self.loop:
                    break
                self.pos = 0
            take = min(n - k, L - self.pos)
            out[k:k + take] = sig[self.pos:self.pos + take]
            self.pos += take
            k += take
        return out


def resample_to(signal: np.ndarray, rate: int, target: int = SAMPLE_RATE) -> np.ndarray:
    """Resample a mono signal to ``target`` Hz with a polyphase filter."""
    if rate == target:
        return np.asarray(signal, dtype=np.float32)
    from scipy.signal import resample_poly

    fr = Fraction(target, rate).limit_denominator(1000)
    return resample_poly(np.asarray(signal, dtype=np.float64), fr.numerator, fr.denominator).astype(np.float32)


def load_mono(path: str, target: int = SAMPLE_RATE) -> np.ndarray:
    """A sound file as float32 mono at ``target`` Hz."""
    try:
        import soundfile as sf
    except (ImportError, OSError) as e:
        raise AudioInputError(f"reading sound files needs soundfile (pip install soundfile): {e}") from None
    if not os.path.isfile(path):
        raise AudioInputError(f"there is no sound file at {path}")
    try:
        data, rate = sf.read(path, dtype="float32", always_2d=True)
    except Exception as e:
        raise AudioInputError(f"cannot read {path} as sound ({e}); WAV, FLAC and OGG files work") from None
    if len(data) == 0:
        raise AudioInputError(f"{path} holds no audio")
    return resample_to(data.mean(axis=1), int(rate), target)


class FileInput(ArrayInput):
    def __init__(self, path: str, loop: bool = True):
        super().__init__(load_mono(path), loop=loop, label=f"file:{os.path.basename(path)}")
        self.path = path


class DeviceInput(AudioInput):
    """Capture from an input device (a microphone, a line in, a virtual cable's output side)."""

    live = True

    def __init__(self, device: str | int | None = None, block: int = 256, buffer_s: float = 0.5):
        self.spec = device
        self.block = block
        self.ring = RingBuffer(int(buffer_s * SAMPLE_RATE), channels=1)
        self.choice: DeviceChoice | None = None
        self.label = f"device:{device if device is not None else 'default'}"
        self._stream = None
        self.overflows = 0  # samples dropped because the render thread fell behind
        self.xruns = 0  # PortAudio input overflow flags

    def _callback(self, indata, frames, time_info, status) -> None:
        if status.input_overflow:
            self.xruns += 1
        got = self.ring.write(indata[:, 0])
        if got < frames:
            self.overflows += frames - got

    def open(self) -> None:
        sd = sounddevice()
        self.choice = choose_device(self.spec, "input")
        self.choice.apply_env("input")
        self.label = f"device:{self.choice.label}"
        try:
            self._stream = sd.InputStream(samplerate=SAMPLE_RATE, channels=1, dtype="float32", blocksize=self.block,
                                          device=self.choice.device, latency="low", callback=self._callback)
            self._stream.start()
        except Exception as e:
            self._stream = None
            raise AudioDeviceError(f"cannot open audio input {self.choice.label}: {e}") from None

    @property
    def active(self) -> bool:
        return self._stream is not None and bool(self._stream.active)

    def close(self) -> None:
        s, self._stream = self._stream, None
        if s is not None:
            try:
                s.close(ignore_errors=True)
            except Exception:
                pass

    def available(self) -> int:
        return self.ring.fill

    def read(self, n: int) -> np.ndarray:
        out = np.zeros((n, 1), np.float32)
        self.ring.read_into(out)  # short: the rest stays silent
        return out[:, 0]


def make_input(spec: str | None, block: int = 256) -> AudioInput:
    """``--audio-in``: a sound file path, ``file:PATH``, ``device:NAME``, a device name/number, ``source`` (the
    sound of the video file on air, in sync with its pictures: engine.audio.source_sound), or none (silence)."""
    if spec is None or spec.strip() == "" or spec == "none":
        return AudioInput()
    if spec.strip() == "source":
        from .source_sound import SourceSoundInput

        return SourceSoundInput()  # the session binds it to the source on air and the pipeline's latency
    if spec.startswith("file:"):
        return FileInput(spec[5:])
    if spec.startswith("device:"):
        return DeviceInput(spec[7:] or None, block=block)
    if os.path.isfile(spec) or os.path.splitext(spec)[1].lower() in (".wav", ".flac", ".ogg", ".aiff", ".aif", ".mp3"):
        return FileInput(spec)
    return DeviceInput(spec, block=block)

