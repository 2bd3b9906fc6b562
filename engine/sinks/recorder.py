"""Record the output to a video file, with the show's sound, keeping real time and sync.

Pictures and sound are stamped from one clock (``engine.live.contracts.now``, monotonic
seconds) and placed on one timeline whose zero is the first frame's stamp:

* frames at the output rate by their timestamps: if the recorder thread missed output frames
  (a busy machine), the last picture is repeated to fill the gap, so ten seconds of show make
  ten seconds of video;
* sound, from an :class:`AudioFeed` (the show's: ``app.session.show_sound``), in chunks stamped
  with the time their first sample is heard. The samples are written in order; when a chunk's
  stamp says the sound runs more than :data:`SYNC_TOLERANCE_S` ahead of or behind the samples
  written, silence is put in or samples are left out, so drift between the sound card's clock
  and the system clock never adds up (after silence, sound is placed exactly). When the feed
  falls silent (the audio engine stopped) the track goes on with silence; it never runs past the
  pictures, and ends with them. A frame sits in the file up to half a frame from its own time
  (the output's schedule can restart at another phase on a busy machine): the sound is placed on
  the frames' grid (their lateness averaged), not on the first frame's.

Everything here runs on the recorder's own thread (its SinkRunner): the output thread only
puts the newest frame in a slot. The file is written through ``engine.media.writer.MediaWriter``
crash-safe (fragmented MP4/MOV): when the disk fills up, what was recorded stays playable; the
recording is then closed and :class:`SinkFinished` says so once: it is never reopened (that
would write over it).
"""

from __future__ import annotations

import collections
from pathlib import Path
from typing import Protocol

import numpy as np

from ..live.contracts import SinkError, SinkFinished
from ..media.files import MediaError, check_video_output

RATE = 48_000
CHANNELS = 2
SYNC_TOLERANCE_S = 0.010  # sound this far off its stamp is corrected by silence or by leaving samples out
QUIET_LAG_S = 0.05  # a feed that gave nothing reaching this far behind the picture is silent: silence is written
PHASE_SMOOTHING = 0.1  # per frame: the frames' lateness from their places in the file, averaged over ~10 frames
MAX_PENDING_S = 12.0  # sound held waiting for its pictures (the output stalled) at most this long


class AudioFeed(Protocol):
    """Where a recording's sound comes from (``app.session.show_sound.ShowSound``, or one engine's tap)."""

    def start(self) -> bool:
        """Begin collecting; True when there is sound to record (the file then gets a sound track)."""

    def pull(self, until: float) -> list[tuple[float, np.ndarray]]:
        """The sound collected since the last pull: (the time its first sample is heard, float32 (n, 2)),
        in order. ``until``: the picture's time now (a feed that makes sound on demand makes it up to there)."""

    def stop(self) -> None:
        """Stop collecting; safe to call twice."""


class SoundTrack:
    """Places stamped sound on the recording's timeline (sample 0 = the first frame's stamp ``t0``)."""

    def __init__(self, write, t0: float, rate: int = RATE, channels: int = CHANNELS):
        self._write, self.t0, self.rate, self.channels = write, t0, rate, channels
        self.tolerance = int(SYNC_TOLERANCE_S * rate)
        self.pending: collections.deque[tuple[int, np.ndarray]] = collections.deque()  # (place, samples)
        self.held = 0  # samples pending
        self.written = 0  # samples in the file
        self.silence = 0  # samples of silence written (feed quiet, or the sound ran late)
        self.left_out = 0  # samples dropped (the sound ran early, or was held too long)
        self.corrections = 0  # times the sound was moved back onto its stamps
        self._flowing = False  # the last samples written were the feed's (not silence): small errors are let be

    def take(self, chunks) -> None:
        """Queue stamped chunks at their places on the timeline."""
        for stamp, samples in chunks:
            x = np.asarray(samples, np.float32).reshape(len(samples), -1)
            if x.shape[1] != self.channels:
                x = np.repeat(x[:, :1], self.channels, axis=1)
            if len(x):
                self.pending.append((int(round((stamp - self.t0) * self.rate)), x))
                self.held += len(x)
        limit = int(MAX_PENDING_S * self.rate)
        while self.held > limit and self.pending:  # the pictures stopped coming: keep the newest sound
            _, x = self.pending.popleft()
            self.held -= len(x)
            self.left_out += len(x)

    def advance(self, end: int, quiet_until: int | None = None) -> None:
        """Write the sound up to sample ``end`` (where the pictures end); where nothing is queued before
        ``quiet_until`` (a feed that fell silent) that stretch is silence."""
        while self.pending and self.written < end:
            place, x = self.pending[0]
            lead = place - self.written
            # sound that follows sound is let be within the tolerance (no stutter from the stamps' jitter);
            # after silence (the start, a feed that came back) it is placed exactly
            tolerance = self.tolerance if self._flowing else 0
            if lead > tolerance:  # the sound runs late: silence up to its place
                self._silence(min(lead, end - self.written))
                self.corrections += int(self._flowing)
                continue
            if lead < -tolerance:  # early: leave out what would be heard before its time
                cut = min(-lead, len(x))
                self.left_out += cut
                self.corrections += int(self._flowing)
                self._pop_front(cut)
                continue
            k = min(len(x), end - self.written)
            self._write(x[:k])
            self.written += k
            self._flowing = True
            self._pop_front(k)
        if not self.pending and quiet_until is not None:
            self._silence(min(quiet_until, end) - self.written)

    def _pop_front(self, k: int) -> None:
        place, x = self.pending.popleft()
        self.held -= k
        if k < len(x):
            self.pending.appendleft((place + k, x[k:]))

    def _silence(self, n: int) -> None:
        if n > 0:
            self._flowing = False
        while n > 0:
            k = min(n, self.rate)
            self._write(np.zeros((k, self.channels), np.float32))
            self.written += k
            self.silence += k
            n -= k


class RecorderSink:
    def __init__(self, path: str | Path, codec: str = "auto", audio_feed: AudioFeed | None = None,
                 max_gap_frames: int = 300):
        self.path = Path(path)
        self.name = f"recorder:{self.path.name}"
        self.codec = codec
        self.audio_feed = audio_feed
        self.max_gap = max_gap_frames
        self._writer = None
        self._t0: float | None = None
        self._last: np.ndarray | None = None
        self._last_t: float | None = None
        self._phase = 0.0  # how late the frames come from their places in the file (s), smoothed
        self._sound: SoundTrack | None = None
        self._with_sound = False
        self.track: SoundTrack | None = None  # the last recording's sound placement (figures for tests and status)
        self.finished: str | None = None  # why the recording ended for good
        self.notice: str | None = None
        self.encoder: str | None = None
        self.frames = 0
        self.fps = 0.0

    @property
    def has_sound(self) -> bool:
        return self._with_sound

    def describe(self) -> str:
        """What is being recorded, for the console: ``H.264 (libx264) + sound``."""
        writer = self._writer
        if writer is None:
            return self.finished or "starting"
        return f"{writer.codec.label} ({writer.encoder}){' + sound' if self._with_sound else ', no sound'}"

    def availability(self) -> str | None:
        """None when the file can be written (a video extension, a writable folder, a codec it can hold), else
        what to change."""
        try:
            check_video_output(self.path, self.codec)
        except MediaError as e:
            return str(e)
        return None

    def open(self, width: int, height: int, fps: float) -> None:
        if self._writer is not None:
            return
        if self.finished is not None:
            raise SinkFinished(self.finished)  # never write over a recording that ended
        from ..media.writer import AudioFormat, MediaWriter

        feed = self.audio_feed
        self._with_sound = bool(feed is not None and feed.start())
        try:
            self._writer = MediaWriter(self.path, fps, (width, height), codec=self.codec,
                                       audio=AudioFormat(RATE, CHANNELS) if self._with_sound else None, crash_safe=True,
                                       realtime=True)
        except MediaError as e:
            if feed is not None:
                feed.stop()
            raise SinkError(str(e)) from None
        self.notice = getattr(self._writer, "notice", None)
        self.encoder = getattr(self._writer, "encoder", None)
        self.fps = fps
        self._t0 = self._last = self._last_t = None
        self._phase = 0.0
        self._sound = None
        self.frames = 0

    def send(self, image: np.ndarray, timestamp: float) -> None:
        if self._writer is None:
            raise SinkError("recorder is not open")
        try:
            self._send(image, timestamp)
        except MediaError as e:  # a full disk, an encoder lost: what is written stays playable; finished, not retried
            raise self._finish(str(e)) from None
        except Exception as e:  # anything else: reopening would write over the recording, so it ends here too
            raise self._finish(f"{type(e).__name__}: {e}") from None

    def _send(self, image: np.ndarray, timestamp: float) -> None:
        w = self._writer
        if self._t0 is None:
            self._t0 = timestamp
            if self._with_sound:
                self._sound = self.track = SoundTrack(w.write_audio, timestamp)
        due = int(round((timestamp - self._t0) * self.fps)) + 1  # frames the file should hold now
        gap = min(due - self.frames - 1, self.max_gap)
        for _ in range(max(0, gap)):  # the last picture again: for ProRes/HAP/DNxHR its packet again, at no cost
            if self._last is not None:
                w.repeat()
            else:
                w.write(image)
            self.frames += 1
        if due > self.frames:
            w.write(image)
            self.frames += 1
            self._last = image
            # where this frame's time falls from its place in the file (the output's schedule can restart at
            # another phase on a busy machine): the sound follows the pictures' grid, not t0's
            late = (timestamp - self._t0) - (self.frames - 1) / self.fps
            self._phase += PHASE_SMOOTHING * (late - self._phase)
            if self._sound is not None:
                self._sound.t0 = self._t0 + self._phase
        self._last_t = timestamp
        self._sound_step(timestamp)

    def _sound_step(self, t: float) -> None:
        sound = self._sound
        if sound is None:
            return
        sound.take(self.audio_feed.pull(t))
        quiet = int((t - QUIET_LAG_S - sound.t0) * RATE)
        sound.advance(self._video_end(), quiet)

    def _video_end(self) -> int:
        return int(round(self.frames * RATE / self.fps))

    def idle(self) -> None:
        """No frame for a moment: take the sound waiting in the feed (it never waits for the pictures)."""
        if self._sound is not None and self._writer is not None:
            self._sound.take(self.audio_feed.pull(self._last_t))

    def _finish(self, why: str) -> SinkFinished:
        seconds = self.frames / self.fps if self.fps else 0.0
        self.finished = f"recording stopped: {why}; {self.path.name} keeps the {seconds:.1f} s recorded"
        self._close(keep=True, finishing=False)  # a failure to finish it changes nothing more to say
        return SinkFinished(self.finished)

    def close(self) -> None:
        problem = self._close(keep=self.frames > 0, finishing=True)
        if problem:
            raise SinkError(problem)

    def _close(self, keep: bool, finishing: bool) -> str | None:
        """Finish the file (the sound to the pictures' end when ``finishing``); what went wrong, or None."""
        w, self._writer = self._writer, None
        if w is None:
            return None
        sound, self._sound = self._sound, None
        try:
            if finishing and sound is not None and self._last_t is not None:
                sound.take(self.audio_feed.pull(self._last_t))
                end = self._video_end()
                sound.advance(end, end)  # the sound track ends with the pictures
        except MediaError:
            pass  # the disk filled at the very end: what is written is kept below
        finally:
            if self.audio_feed is not None:
                self.audio_feed.stop()
            try:
                w.close(keep=keep)
            except MediaError as e:
                return str(e)
        return None

