"""Video and sound files read through PyAV (FFmpeg inside the wheel): what a file holds, its
pictures with their own timing, and its sound resampled to the rate the audio engine runs at.

Every time here is in seconds of *media time*: 0 is the start of the file's picture stream
(its ``start_time``; pts 0 where the container gives none).  A frame's :attr:`VideoFrame.t`
comes from its own timestamp, so a variable-frame-rate file keeps its real timing, and
:func:`read_audio` / :func:`iter_audio` place the sound on the same axis, so a player that
shows frame ``t`` at ``origin + t`` plays the sample at ``s`` seconds at ``origin + s``.

Pictures come out as the viewer would see them: HxWx3 uint8 RGB, turned by the file's
rotation metadata (a phone video shot upright plays upright).  Every failure a user can
cause (missing, damaged, undecodable file) is a :class:`~engine.media.files.MediaError`
with one line that says what to do.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator, NamedTuple

import av
import av.error
import numpy as np

from engine.media.errors import MediaError
from engine.media.frames import frame_rgb, packed_samples

DEFAULT_FPS = 30.0  # when a file states no usable rate
_GAP_S = 0.02  # a jump in the sound's timestamps longer than this is filled with silence
_RE_ENCODE = "try re-encoding it to H.264 MP4"


@dataclass(frozen=True)
class MediaProbe:
    """What a video file holds (sizes as displayed, i.e. after its rotation)."""

    path: Path
    width: int
    height: int
    fps: float  # average rate; a variable-rate file's frames carry their own times
    frame_count: int  # exact when frame_count_exact, else estimated from the duration
    frame_count_exact: bool
    duration_s: float  # of the picture stream
    video_codec: str  # FFmpeg's decoder name: 'h264', 'hevc', 'prores', 'hap', ...
    rotation: int = 0  # degrees counter-clockwise applied to every frame (0, 90, 180, 270)
    has_audio: bool = False
    audio_codec: str = ""
    audio_rate: int = 0
    audio_channels: int = 0
    audio_duration_s: float = 0.0


@dataclass(frozen=True)
class VideoFrame:
    rgb: np.ndarray  # HxWx3 uint8
    t: float  # media seconds (from the picture stream's start), from the frame's own timestamp
    index: int  # 0, 1, 2, ... in presentation order
    duration: float | None = None  # how long the file shows it, in seconds, where the file says


class AudioBlock(NamedTuple):
    samples: np.ndarray  # float32 (n, channels), -1..1
    t: float  # media seconds of the first sample (same axis as VideoFrame.t)


# -- opening -----------------------------------------------------------------------------------

def _open(path: Path, what: str = "video"):
    if not path.exists():
        raise MediaError(f"{what} file not found: {path} (check the path)")
    if not path.is_file():
        raise MediaError(f"not a file: {path} (choose a {what} file)")
    try:
        return av.open(str(path), mode="r", metadata_errors="ignore")
    except av.error.PermissionError:
        raise MediaError(f"cannot read {what} {path}: permission denied (check the file's permissions)") from None
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        raise MediaError(f"cannot read {what} {path}: the file is damaged or not a {what} FFmpeg can open "
                         f"({_RE_ENCODE})") from None


def _seconds(value, time_base) -> float | None:
    return None if value is None or time_base is None else float(value * time_base)


_TAG_DURATION = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?)$")


def _stream_duration(stream, container) -> float:
    """The stream's own duration, else from Matroska's per-stream DURATION tag (which FFmpeg writes as the
    stream's end time), else the file's."""
    d = _seconds(stream.duration, stream.time_base)
    if d is not None and d > 0:
        return d
    m = _TAG_DURATION.match(str(stream.metadata.get("DURATION", "")).strip())
    if m:
        end = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
        return max(0.0, end - (_seconds(stream.start_time, stream.time_base) or 0.0))
    if container.duration:
        return max(0.0, container.duration / av.time_base)
    return 0.0


def _origin(stream) -> int:
    """The pts that is media time 0: the picture stream's start (0 where the container gives none)."""
    return stream.start_time if stream.start_time is not None else 0


def _fps(stream, count: int, duration: float) -> float:
    for rate in (stream.average_rate, stream.guessed_rate):
        if rate and 0 < float(rate) <= 1000:
            return float(rate)
    if count > 0 and duration > 0 and 0 < count / duration <= 1000:
        return count / duration
    return DEFAULT_FPS


def _rgb(frame, turns: int) -> np.ndarray:
    rgb = frame_rgb(frame)
    if turns:
        rgb = np.ascontiguousarray(np.rot90(rgb, turns))
    return rgb


# -- pictures ----------------------------------------------------------------------------------

class VideoReader:
    """One video file open for decoding, frame by frame in presentation order.

    Opening decodes the first frame (so a file that opens also plays) and fills :attr:`info`.
    Decoding runs on FFmpeg's own threads (frame and slice threading, as many as cores).
    A damaged packet part-way is skipped, as players do; a file that stops decoding ends there.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        self._container = _open(self.path)
        try:
            self._stream = self._container.streams.best("video")
            if self._stream is None:
                raise MediaError(f"cannot read video {self.path}: it holds no pictures (choose a video file)")
            ctx = self._stream.codec_context
            ctx.thread_type = "AUTO"
            ctx.thread_count = 0  # one per core
            self._zero = _origin(self._stream)
            self._tb = self._stream.time_base or Fraction(1, 90000)
            self._frames = self._decoded()
            self.index = 0
            self._last_t: float | None = None
            self.skipped_packets = 0
            first = next(self._frames, None)
            if first is None:
                raise MediaError(f"cannot read video {self.path}: no picture decodes (the file is damaged or its "
                                 f"{ctx.name} pictures are not supported; {_RE_ENCODE})")
            rotation = int(round((first.rotation or 0) / 90.0)) % 4 * 90
            self._turns = rotation // 90
            self.info = self._probe(first, rotation)
            self._pending = self._make(first)
        except BaseException:
            self.close()
            raise

    def _probe(self, first, rotation: int) -> MediaProbe:
        s, c = self._stream, self._container
        duration = _stream_duration(s, c)
        exact = bool(s.frames and s.frames > 0)
        fps = _fps(s, s.frames if exact else 0, duration)
        count = int(s.frames) if exact else max(1, round(duration * fps))
        w, h = (first.height, first.width) if rotation in (90, 270) else (first.width, first.height)
        audio = c.streams.best("audio")
        extra = {}
        if audio is not None:
            actx = audio.codec_context
            extra = dict(has_audio=True, audio_codec=actx.name or "", audio_rate=int(actx.sample_rate or 0),
                         audio_channels=int(actx.channels or 0), audio_duration_s=_stream_duration(audio, c))
        return MediaProbe(self.path, w, h, fps, count, exact, duration, s.codec_context.name or "", rotation, **extra)

    def _decoded(self):
        try:
            for packet in self._container.demux(self._stream):
                try:
                    frames = packet.decode()
                except av.error.EOFError:
                    return
                except (av.error.InvalidDataError, ValueError):  # ValueError: PyAV's ArgumentError (EINVAL)
                    self.skipped_packets += 1  # a damaged packet: skip it, as players do
                    continue
                yield from frames
        except (av.error.FFmpegError, OSError):
            return  # the file stops reading part-way: that is its end, to a player

    def _make(self, frame) -> VideoFrame:
        if frame.pts is not None:
            t = float((frame.pts - self._zero) * self._tb)
        elif self._last_t is not None:
            t = self._last_t + 1.0 / self.info.fps
        else:
            t = 0.0
        self._last_t = t
        duration = float(frame.duration * self._tb) if frame.duration else None
        vf = VideoFrame(_rgb(frame, self._turns), t, self.index, duration)
        self.index += 1
        return vf

    def read(self) -> VideoFrame | None:
        """The next frame, or None at the end of the file."""
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        if self._frames is None:
            return None
        frame = next(self._frames, None)
        return None if frame is None else self._make(frame)

    def close(self) -> None:
        """Let go of the file and the decoder threads; safe to call twice."""
        frames, self._frames = getattr(self, "_frames", None), None
        if frames is not None:
            frames.close()
        container, self._container = getattr(self, "_container", None), None
        if container is not None:
            container.close()

    def __iter__(self) -> Iterator[VideoFrame]:
        while (frame := self.read()) is not None:
            yield frame

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def probe_media(path: str | os.PathLike) -> MediaProbe:
    """What the video file at ``path`` holds; MediaError (one line) when it cannot be played."""
    with VideoReader(path) as reader:
        return reader.info


def iter_frames(path: str | os.PathLike) -> Iterator[VideoFrame]:
    """Every frame of the file in order, with its time; the file closes when the iteration ends."""
    with VideoReader(path) as reader:
        yield from reader


# -- sound -------------------------------------------------------------------------------------

def _layout(channels: int) -> str:
    if not isinstance(channels, int) or not 1 <= channels <= 64:
        raise ValueError(f"channels must be between 1 and 64, not {channels!r}")
    return {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")


def iter_audio(path: str | os.PathLike, rate: int = 48000, channels: int = 2) -> Iterator[AudioBlock]:
    """The file's sound in order, as float32 blocks of ``channels`` at ``rate`` Hz, each with the media time
    of its first sample (0 = the picture stream's start, as :attr:`VideoFrame.t`).

    Blocks follow each other without holes: a gap in the file's sound timestamps is filled with silence, so
    the sample ``k`` samples after the first is at ``first.t + k / rate``.  The sound ends where the file
    says its sound ends (encoder padding after it is dropped).  MediaError when the file has no sound.
    """
    p = Path(path)
    if not isinstance(rate, int) or not 1000 <= rate <= 384000:
        raise ValueError(f"rate must be between 1000 and 384000 Hz, not {rate!r}")
    layout = _layout(channels)
    container = _open(p, "media")
    try:
        stream = container.streams.best("audio")
        if stream is None:
            raise MediaError(f"{p} has no sound track (choose a file with sound, or leave its sound off)")
        picture = container.streams.best("video")
        zero = _seconds(_origin(picture), picture.time_base) if picture is not None else 0.0
        start = _seconds(stream.start_time, stream.time_base)
        length = _stream_duration(stream, container)
        end = start - zero + length if start is not None and length > 0 else None
        resampler = av.AudioResampler(format="flt", layout=layout, rate=rate)
        first_t: float | None = None
        written = 0  # samples yielded so far
        for frame in _audio_frames(container, stream, p):
            if first_t is None:
                first_t = (frame.time - zero) if frame.time is not None else (start or 0.0) - zero
            elif frame.time is not None:
                gap = round((frame.time - zero - first_t) * rate) - written
                if gap > _GAP_S * rate:
                    yield AudioBlock(np.zeros((gap, channels), np.float32), first_t + written / rate)
                    written += gap
            for block in _blocks(resampler.resample(frame), channels):
                block = _trim(block, first_t + written / rate, end, rate)
                if len(block):
                    yield AudioBlock(block, first_t + written / rate)
                    written += len(block)
        if first_t is None:
            raise MediaError(f"cannot read the sound of {p}: none of it decodes ({_RE_ENCODE} with AAC sound)")
        for block in _blocks(resampler.resample(None), channels):
            block = _trim(block, first_t + written / rate, end, rate)
            if len(block):
                yield AudioBlock(block, first_t + written / rate)
                written += len(block)
    finally:
        container.close()


def _audio_frames(container, stream, path: Path):
    try:
        stream.codec_context.thread_type = "AUTO"
        for packet in container.demux(stream):
            try:
                yield from packet.decode()
            except av.error.EOFError:
                return
            except (av.error.InvalidDataError, ValueError):  # ValueError: PyAV's ArgumentError (EINVAL)
                continue  # a damaged packet: skip it
    except av.error.DecoderNotFoundError:
        raise MediaError(f"cannot read the sound of {path}: no decoder for its {stream.codec_context.name} sound "
                         f"({_RE_ENCODE} with AAC sound)") from None
    except (av.error.FFmpegError, OSError):
        return  # the file stops reading part-way: that is its end


def _blocks(frames, channels: int):
    for frame in frames:
        yield packed_samples(frame, channels)


def _trim(block: np.ndarray, t: float, end: float | None, rate: int) -> np.ndarray:
    if end is None:
        return block
    keep = round((end - t) * rate)
    return block if keep >= len(block) else block[:max(0, keep)]


def read_audio(path: str | os.PathLike, rate: int = 48000, channels: int = 2) -> tuple[np.ndarray, float]:
    """The file's whole sound as float32 (n, channels) at ``rate`` Hz, and the media time of its first
    sample: the sound's start relative to the pictures' start (negative when the sound starts first)."""
    blocks = list(iter_audio(path, rate, channels))
    if not blocks:
        return np.zeros((0, channels), np.float32), 0.0
    return np.concatenate([b.samples for b in blocks]), blocks[0].t
