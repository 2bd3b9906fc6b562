"""A render keeps its input's sound: copied as it is where the output's container holds the sound's
codec (:func:`engine.media.codecs.audio_copy_fits`), else decoded and re-encoded (AAC, or PCM beside
the editing codecs in ``.mov``: :func:`engine.media.codecs.audio_codec_for`).

The render writes output frame k at ``k / fps`` from input frame k, i.e. on the input's *media time*
(0 = its first picture, see engine/media/reader.py).  The sound keeps its place on that axis: sound
that starts 0.2 s after the first picture starts 0.2 s after the output's first frame (copied packets
are shifted by the picture stream's start; re-encoded sound is padded with silence, or trimmed where
it starts before the first picture).  It is written as the frames go (:meth:`Sound.until`), so the
muxer interleaves the two tracks and a long file's sound never waits in memory.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import av
import av.error
import numpy as np

from .media.codecs import audio_codec_for, audio_copy_fits, choose_codec
from .media.files import MediaError
from .media.reader import iter_audio
from .media.writer import AudioFormat, MediaWriter

# the rates AAC is defined at; sound at any other rate is resampled to 48 kHz when re-encoded to AAC
AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
_CHUNK_S = 1.0  # silence is written a second at a time


@dataclass(frozen=True)
class SoundReport:
    """What happened to the input's sound: ``"copied"``, ``"re-encoded"``, ``"dropped"`` (asked for) or
    ``"none"`` (the input has none, or is an image)."""

    action: str
    source_codec: str = ""  # FFmpeg's codec name, as ffprobe says it: 'aac', 'mp3', 'pcm_s16le', ...
    output_codec: str = ""  # what the output's sound track holds (the same as source_codec when copied)

    def describe(self) -> str:
        if self.action == "copied":
            return f"sound copied ({self.source_codec})"
        if self.action == "re-encoded":
            return f"sound re-encoded ({self.source_codec} to {self.output_codec})"
        if self.action == "dropped":
            return "sound dropped"
        return "no sound"


def _codec_name(stream) -> str:
    codec = stream.codec_context.codec
    return getattr(codec, "canonical_name", None) or codec.name  # 'mp3', not the decoder's 'mp3float'


def _picture_start(container) -> float:
    """Seconds of the picture stream's start: media time 0 (as engine/media/reader.py has it)."""
    video = container.streams.best("video")
    if video is None or video.start_time is None or video.time_base is None:
        return 0.0
    return float(video.start_time * video.time_base)


class Sound:
    """The input's sound, written into a :class:`MediaWriter` as the frames go."""

    report: SoundReport

    def writer_options(self) -> dict:
        """The ``audio`` / ``audio_copy`` argument the writer is opened with."""
        raise NotImplementedError

    def start(self, writer: MediaWriter) -> None:
        self._writer = writer

    def until(self, t: float) -> None:
        """Write the sound up to media time ``t`` (seconds from the first frame)."""
        raise NotImplementedError

    def finish(self) -> None:
        """Write the rest of the sound."""
        self.until(math.inf)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class CopiedSound(Sound):
    """Packets demuxed from the input, timestamps moved so the picture stream's start is 0."""

    def __init__(self, src: Path, container, stream):
        self._src, self._container, self._stream = src, container, stream
        self._tb = stream.time_base
        self._shift = round(_picture_start(container) / self._tb)  # in the sound's time base
        self._packets = self._demux()
        self._next = next(self._packets, None)
        codec = _codec_name(stream)
        self.report = SoundReport("copied", codec, codec)

    def writer_options(self) -> dict:
        return {"audio_copy": self._stream}

    def _demux(self):
        """The sound's packets in order, each with its duration: Matroska leaves them without one where FFmpeg has
        no parser for the codec (ALAC), and a copied packet without a duration plays as none in MP4 (the last one,
        cut).  The gap to the next packet is its duration; the last one's is taken as long as the one before
        (at most a frame too long: the decoder stops at the real end)."""
        held, last = None, 0
        try:
            for packet in self._container.demux(self._stream):
                if packet.dts is None:  # the demuxer's flush packet
                    continue
                if held is not None:
                    if not held.duration and held.pts is not None and packet.pts is not None and packet.pts > held.pts:
                        held.duration = packet.pts - held.pts
                    last = held.duration or last
                    yield held
                held = packet
        except (av.error.FFmpegError, OSError):
            pass  # the file stops reading part-way: its sound ends there, as a player has it
        if held is not None:
            if not held.duration and last:
                held.duration = last
            yield held

    def _time(self, packet) -> float:
        ts = packet.pts if packet.pts is not None else packet.dts
        return float((ts - self._shift) * self._tb)

    def until(self, t: float) -> None:
        while self._next is not None and self._time(self._next) < t:
            packet, self._next = self._next, next(self._packets, None)
            if packet.pts is not None:
                packet.pts -= self._shift
            packet.dts -= self._shift
            try:
                self._writer.copy_audio(packet)
            except (av.error.FFmpegError, ValueError) as e:  # timestamps the muxer will not take
                raise MediaError(f"cannot copy the sound of {self._src.name}: {e} (render without it: --no-audio)") from None

    def close(self) -> None:
        self._packets.close()
        self._container.close()


class EncodedSound(Sound):
    """The input's sound decoded on the media-time axis (engine.media.reader.iter_audio) and handed to the
    writer's encoder from output time 0: silence first where the sound starts after the first picture,
    the part before the first picture left out where it starts before."""

    def __init__(self, src: Path, rate: int, channels: int, report: SoundReport):
        self.report = report
        self.format = AudioFormat(rate, channels)
        self._blocks = iter_audio(src, rate, channels)
        try:
            first = next(self._blocks, None)
        except MediaError as e:
            self._blocks.close()
            raise MediaError(f"{e} (or render without it: --no-audio)") from None
        self._pending = first.samples if first is not None else None
        self._written = 0  # samples handed to the writer (output time written * rate)
        offset = round(first.t * rate) if first is not None else 0
        self._lead = max(0, offset)  # samples of silence still to write before the sound
        self._skip = max(0, -offset)  # samples before the first picture still to leave out

    def writer_options(self) -> dict:
        return {"audio": self.format}

    def _take(self) -> np.ndarray | None:
        if self._lead:
            n = min(self._lead, round(_CHUNK_S * self.format.rate))
            self._lead -= n
            return np.zeros((n, self.format.channels), np.float32)
        if self._pending is not None:
            block, self._pending = self._pending, None
            return block
        while True:
            try:
                block = next(self._blocks, None)
            except MediaError as e:
                raise MediaError(f"{e} (or render without it: --no-audio)") from None
            if block is None:
                return None
            if len(block.samples):
                return block.samples

    def until(self, t: float) -> None:
        target = math.inf if math.isinf(t) else round(t * self.format.rate)
        while self._written < target:
            block = self._take()
            if block is None:
                return
            if self._skip:
                cut = min(self._skip, len(block))
                block, self._skip = block[cut:], self._skip - cut
            if len(block) == 0:
                continue
            self._writer.write_audio(block)
            self._written += len(block)

    def close(self) -> None:
        self._blocks.close()


def open_sound(src: str | Path, dst: str | Path, codec: str | None = "auto", copy: bool = True) -> Sound | None:
    """The sound of ``src`` as ``dst`` (in ``codec``) will carry it, or None when ``src`` has none.

    Copied (unless not ``copy``) where :func:`audio_copy_fits` says the output's container takes the codec as it is;
    re-encoded otherwise, at the input's rate (48 kHz where AAC has no such rate) in mono or stereo
    (more channels are mixed down to stereo)."""
    src, dst = Path(src), Path(dst)
    spec = choose_codec(dst, codec)
    ext = dst.suffix.lower()
    try:
        container = av.open(str(src), mode="r", metadata_errors="ignore")
    except (av.error.FFmpegError, OSError, UnicodeDecodeError, ValueError):
        raise MediaError(f"cannot read the sound of {src}: the file is damaged (render without it: --no-audio)") from None
    try:
        stream = container.streams.best("audio")
        if stream is None:
            container.close()
            return None
        name = _codec_name(stream)
        if copy and audio_copy_fits(name, ext):
            return CopiedSound(src, container, stream)
        ctx = stream.codec_context
        rate, channels = int(ctx.sample_rate or 48000), int(ctx.channels or 2)
    except BaseException:
        container.close()
        raise
    container.close()
    out = audio_codec_for(spec, ext)
    if out == "aac" and rate not in AAC_RATES:
        rate = 48000
    rate = min(max(rate, 8000), 192000)
    return EncodedSound(src, rate, 1 if channels == 1 else 2, SoundReport("re-encoded", name, out))
