"""The sound of the video file on air, in sync with its pictures (``--audio-in source``).

A music video as input: the pictures go through the model, the sound to the speakers, and a
sample is heard when its picture is shown. The file source says where its media time stands
on the pipeline's clock (``media_clock()``: the frame at media time ``t`` is captured at
``origin + t``); the pipeline's picture takes ``latency`` more to reach the output (the
measured capture-to-output latency). The render thread says when the block it is about to
read will be heard (``heard_at``, engine.audio.render_loop). So the block starts at media time

    s = heard_at - latency - origin

The input follows the file sample by sample and jumps only when it is more than
:data:`RESYNC_S` off that (a loop whose length differs, a seek, a stall, a new file), so the
sound does not stutter with the jitter of the measurements. A smaller error (an underrun that
made the sound late, the sound card's clock drifting from the system's) is worked off by
playing up to :data:`MAX_TRIM` faster or slower (0.5 %: a twelfth of a semitone) until it is
under :data:`TRIM_DEADBAND_S`. The latency is smoothed over a few blocks for the same reason; a
change of more than :data:`LATENCY_JUMP_S` (its first measurement, a model swapped in) is taken at once.

The file's sound is decoded on a loader thread when the file goes on air (silence meanwhile),
at 48 kHz, kept as 16-bit samples (up to :data:`MAX_SOUND_S`). ``channels=1`` is what the
binaural engine takes; :class:`SourceSoundFeed` makes stereo on demand for a show recording
while the audio engine is off.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from .types import SAMPLE_RATE

RESYNC_S = 0.015  # off by more than this: jump to where the pictures are
MAX_TRIM = 0.005  # less than that: play this much faster or slower at most...
TRIM_S = 1.0  # ...to work an error off in about this long...
TRIM_DEADBAND_S = 0.0005  # ...until it is under this
MAX_SOUND_S = 15 * 60.0  # sound decoded per file (16-bit: 15 min of stereo is 173 MB); after it, silence
LATENCY_SMOOTHING = 0.1  # per block: the video latency estimate follows over ~10 blocks (0.4 s)...
LATENCY_JUMP_S = 0.020  # ...or at once when it moved this much (not jitter: another pipeline)


def _file_source(src):
    """The file source behind ``src`` (the session hands its sources over wrapped, app.input_tap), or None."""
    inner = getattr(src, "source", src)
    if inner is None or not callable(getattr(inner, "media_clock", None)) or getattr(inner, "path", None) is None:
        return None
    return inner


def file_has_sound(src) -> bool:
    """True when ``src`` (or the source it wraps) is a video file with a sound track."""
    inner = _file_source(src)
    if inner is None:
        return False
    if getattr(inner, "has_audio", False):
        return True
    if getattr(inner, "is_open", True):
        return False  # open and without sound
    try:  # not opened yet (a show starting): ask the file
        from ..media.reader import probe_media

        return probe_media(inner.path).has_audio
    except Exception:
        return False


class _Sound:
    """One file's sound, loaded on a thread: int16 (n, channels) and the media time of its first sample."""

    def __init__(self, path, channels: int):
        self.path, self.channels = path, channels
        self.samples: np.ndarray | None = None
        self.first = 0  # the first sample's place in media samples (round(t_first * rate))
        self.error: str | None = None
        self._cancel = threading.Event()
        self.thread = threading.Thread(target=self._load, name="dd-audio-source-sound", daemon=True)
        self.thread.start()

    def _load(self) -> None:
        from ..media.reader import iter_audio

        try:
            blocks, have, first_t = [], 0, None
            for block in iter_audio(self.path, SAMPLE_RATE, self.channels):
                if self._cancel.is_set():
                    return
                if first_t is None:
                    first_t = block.t
                take = block.samples[: int(MAX_SOUND_S * SAMPLE_RATE) - have]
                blocks.append((np.clip(take, -1.0, 1.0) * 32767.0).astype(np.int16))
                have += len(take)
                if have >= MAX_SOUND_S * SAMPLE_RATE:
                    break
            self.first = int(round((first_t or 0.0) * SAMPLE_RATE))
            self.samples = np.concatenate(blocks) if blocks else np.zeros((0, self.channels), np.int16)
        except Exception as e:  # a file without sound, or sound that does not decode: silence, said once
            self.error = str(e).splitlines()[0] if str(e) else type(e).__name__

    def cancel(self) -> None:
        self._cancel.set()

    def close(self) -> None:
        self._cancel.set()
        self.thread.join(5.0)


class SourceSoundInput:
    """The sound of the file on air, placed by the render thread's ``heard_at`` (see the module docstring).

    ``on_air()`` returns the source on air now (None: silence); ``video_latency()`` the pipeline's
    capture-to-output latency in seconds (None: unknown, taken as 0).
    """

    live = False

    def __init__(self, on_air: Callable[[], object] | None = None, video_latency: Callable[[], float | None] | None = None,
                 channels: int = 1):
        self.on_air = on_air or (lambda: None)
        self.video_latency = video_latency or (lambda: None)
        self.channels = channels
        self.heard_at: float | None = None  # set by the render thread before each read
        self.label = "source: the sound of the file on air"
        self.resyncs = 0  # jumps to where the pictures are (loops of another length, seeks, stalls, new files)
        self.offset_s = 0.0  # how far the last block's start was from where the pictures are (+: sound late)
        self._sound: _Sound | None = None
        self._key: tuple | None = None
        self._cursor: float | None = None  # the next sample's place in media samples of the current pass
        self.speed = 1.0  # the last block's playing speed (1 except while an error is worked off)
        self._latency: float | None = None
        self._dropped: list[_Sound] = []  # loaders of files no longer on air: cancelled, joined at close()

    def bind(self, on_air: Callable[[], object], video_latency: Callable[[], float | None]) -> None:
        """Follow the session's source and latency (the session builds the input before it knows them)."""
        self.on_air, self.video_latency = on_air, video_latency

    # -- an audio input (engine.audio.inputs.AudioInput's shape; not imported: make_input imports this) --------
    def available(self) -> int:
        return 1 << 30  # on demand

    def open(self) -> None:
        self._cursor = None

    def close(self) -> None:
        self._drop()
        dropped, self._dropped = self._dropped, []
        for sound in dropped:
            sound.close()

    def read(self, n: int) -> np.ndarray:
        out = np.zeros((n, self.channels), np.float32)
        self._fill(out)
        return out[:, 0] if self.channels == 1 else out

    # -- inside -------------------------------------------------------------------------------------
    def _current(self):
        """The file source on air and its loaded sound, (re)loading when the file changed; (None, None) when silent."""
        src = _file_source(self.on_air())
        if src is None or not getattr(src, "has_audio", False):
            return None, None
        key = (id(src), str(src.path))
        if key != self._key:
            self._drop()  # the render thread never waits for a loader: joined at close()
            self._key, self._sound, self._cursor = key, _Sound(src.path, self.channels), None
            label = getattr(src.path, "name", str(src.path))
            self.label = f"source: the sound of {label}"
        sound = self._sound
        return (src, sound) if sound is not None and sound.samples is not None else (None, None)

    def _drop(self) -> None:
        sound, self._sound, self._key = self._sound, None, None
        if sound is not None:
            sound.cancel()
            self._dropped = [d for d in self._dropped if d.thread.is_alive()] + [sound]

    def _media_place(self, src, heard: float) -> tuple[int, int] | None:
        """(where the block belongs in media samples of the pass on air, that pass's length in samples or 0)."""
        clock = src.media_clock()
        if clock is None:
            return None
        lat = self.video_latency()
        lat = 0.0 if lat is None else float(lat)
        if self._latency is None or abs(lat - self._latency) > LATENCY_JUMP_S:
            self._latency = lat
        else:
            self._latency += LATENCY_SMOOTHING * (lat - self._latency)
        s = heard - self._latency - clock.origin
        length = int(round(clock.loop_length_s * SAMPLE_RATE)) if getattr(src, "loop", False) else 0
        place = int(round(s * SAMPLE_RATE))
        if length > 0:
            if place < 0 and clock.loop > 0:
                place += length  # still the end of the pass before
            elif place >= length:
                place %= length  # the next pass, which the pictures start at origin + length
        return place, length

    def _fill(self, out: np.ndarray) -> None:
        heard = self.heard_at
        src, sound = self._current()
        if src is None or heard is None:
            self._cursor = None
            return
        found = self._media_place(src, heard)
        if found is None:
            self._cursor = None
            return
        place, length = found
        cursor, speed = self._cursor, 1.0
        if cursor is not None:
            off = cursor - place  # > 0: the sound runs ahead of its pictures
            if length > 0:  # on a loop, the shorter way round
                off = (off + length / 2) % length - length / 2
            self.offset_s = -off / SAMPLE_RATE
            if abs(off) > RESYNC_S * SAMPLE_RATE:
                self.resyncs += 1
                cursor = None
            elif abs(off) > TRIM_DEADBAND_S * SAMPLE_RATE:
                speed = 1.0 - float(np.clip(off / (TRIM_S * SAMPLE_RATE), -MAX_TRIM, MAX_TRIM))
        if cursor is None:
            cursor = place
        self.speed = speed
        if speed == 1.0:
            self._cursor = self._copy(sound, int(round(cursor)), length, out)
        else:
            self._cursor = self._resample(sound, cursor, speed, length, out)

    def _resample(self, sound: _Sound, cursor: float, speed: float, length: int, out: np.ndarray) -> float:
        """``out`` from media sample ``cursor`` on at ``speed`` (linear interpolation); the cursor after it."""
        pos = cursor + speed * np.arange(len(out))
        if length > 0:
            pos %= length
        i = np.floor(pos).astype(np.int64)
        frac = (pos - i)[:, None].astype(np.float32)
        a, b = self._at(sound, i, length), self._at(sound, i + 1, length)
        out[:] = a + (b - a) * frac
        nxt = cursor + speed * len(out)
        return nxt % length if length > 0 else nxt

    @staticmethod
    def _at(sound: _Sound, i: np.ndarray, length: int) -> np.ndarray:
        """Samples at media places ``i`` (wrapped at the pass ``length``); silence outside the sound."""
        if length > 0:
            i = i % length
        j = i - sound.first
        ok = (j >= 0) & (j < len(sound.samples))
        x = np.zeros((len(i), sound.channels), np.float32)
        x[ok] = sound.samples[j[ok]] * (1.0 / 32767.0)
        return x

    def _copy(self, sound: _Sound, cursor: int, length: int, out: np.ndarray) -> int:
        """Copy the sound from media sample ``cursor`` on into ``out`` (wrapping at the pass ``length`` when > 0);
        the cursor after it."""
        data, first, n, k = sound.samples, sound.first, len(out), 0
        while k < n:
            if length > 0 and cursor >= length:
                cursor -= length
            stop = n - k if length <= 0 else min(n - k, length - cursor)
            i0, i1 = cursor - first, cursor - first + stop
            a, b = max(i0, 0), min(i1, len(data))
            if b > a:
                out[k + a - i0:k + b - i0] = data[a:b] * (1.0 / 32767.0)
            k += stop
            cursor += stop
        return cursor


class SourceSoundFeed:
    """The file on air's own sound for a show recording while the audio engine is off: made on demand up to
    the picture's time, stamped with the time it belongs at (a recorder's ``AudioFeed``)."""

    MAX_CHUNK_S = 2.0  # a recorder that fell further behind than this skips ahead (silence in the file)

    def __init__(self, on_air: Callable[[], object], video_latency: Callable[[], float | None]):
        self.sound = SourceSoundInput(on_air, video_latency, channels=2)
        self.on_air = on_air
        self._next: float | None = None

    def start(self) -> bool:
        """True when the file on air has sound."""
        self._next = None
        return file_has_sound(self.on_air())

    def restart(self) -> None:
        """The next pull starts the sound afresh at its time (nothing made for the time before)."""
        self._next = None

    def pull(self, until: float) -> list[tuple[float, np.ndarray]]:
        if self._next is None or until - self._next > self.MAX_CHUNK_S:
            self._next = until
        n = int(round((until - self._next) * SAMPLE_RATE))
        if n <= 0:
            return []
        stamp = self._next
        self.sound.heard_at = stamp
        samples = self.sound.read(n)
        self._next = stamp + n / SAMPLE_RATE
        return [(stamp, samples)]

    def stop(self) -> None:
        self.sound.close()
        self._next = None
