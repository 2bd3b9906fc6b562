"""Writing video (and its sound) with PyAV: H.264, HEVC, ProRes, HAP, DNxHR, MPEG-4, Motion JPEG.

:class:`MediaWriter` takes RGB frames at a constant rate and, optionally, float32 sound (or sound
packets copied from another file) and writes one file.  Until :meth:`MediaWriter.close` it is
written as ``NAME.part.EXT``; closing renames it, and a failure while writing removes it, so no
half-written file sits under the name the user asked for.

``crash_safe`` (the show recorder) writes fragmented MP4/MOV (a fragment a second, starting at a
keyframe): whatever was written before a crash, a power cut or a full disk plays.  Renders write
ordinary files with the index at the front (``faststart``), which browsers stream best.

H.264/HEVC use NVIDIA's NVENC (or Apple's VideoToolbox) when the machine has it; where that
encoder will not open, the software encoder takes over and :attr:`MediaWriter.notice` says so in
one line.  ``realtime`` (a live recording) trades size for speed where the codec allows (x264's
superfast preset: half veryfast's CPU time, about 1.8 times the size).
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from .codecs import CodecSpec, audio_codec_for, choose_codec
from .errors import MediaError
from .fragments import trim_to_whole_fragments
from .frames import packet_bytes, rgb_frame
from .hardware import hardware_opens, hardware_present


@dataclass(frozen=True)
class AudioFormat:
    rate: int = 48000
    channels: int = 2


def _even(n: int) -> int:
    return n + (n & 1)


def _disk_problem(e: OSError, path: Path) -> str:
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return f"the disk is full while writing {path.name}: free some space or record to another disk"
    return f"cannot write {path.name}: {e.strerror or e} (check the disk and the folder)"


class MediaWriter:
    """One video file (with an optional sound track); see the module docstring."""

    def __init__(self, path: str | os.PathLike, fps: float, size: tuple[int, int], *, codec: str = "auto",
                 audio: AudioFormat | None = None, audio_copy=None, crash_safe: bool = False, hardware: bool = True,
                 realtime: bool = False):
        self.path = Path(path)
        self.codec: CodecSpec = choose_codec(self.path, codec)
        ext = self.path.suffix.lower()
        if not self.path.parent.exists():
            raise MediaError(f"output folder does not exist: {self.path.parent} (create it first or choose another path)")
        if size[0] <= 0 or size[1] <= 0:
            raise MediaError(f"cannot write video {self.path}: the frame size {size[0]}x{size[1]} is empty")
        if fps <= 0:
            raise MediaError(f"cannot write video {self.path}: the frame rate {fps} is not above 0")
        self.size, self.fps = (int(size[0]), int(size[1])), float(fps)
        self.crash_safe = crash_safe
        self.notice: str | None = None
        self.frames = 0
        self.audio_samples = 0
        self.closed = False
        self._failed: str | None = None
        self._last_packet: tuple[bytes, Fraction] | None = None  # an intra codec's last frame, as muxed
        self._last_rgb: np.ndarray | None = None  # another codec's last frame, to encode again
        self._tmp = self.path.with_name(self.path.stem + ".part" + ext)
        try:
            open(self._tmp, "wb").close()  # a folder that refuses files says so now, not at the first frame
        except OSError as e:
            raise MediaError(f"cannot write video {self.path}: {e.strerror or e} (check the folder is writable)") from None
        try:
            self._container = av.open(str(self._tmp), "w", options=self._format_options(ext))
        except OSError as e:
            raise MediaError(_disk_problem(e, self.path)) from None
        self._sync_fd: int | None = None  # crash-safe: the file's data is pushed to the disk once a second
        if crash_safe:
            try:
                self._sync_fd = os.open(self._tmp, os.O_RDONLY)
            except OSError:
                pass
        try:
            self._video = self._add_video(hardware, realtime)
            self._audio = self._audio_format = None
            if audio_copy is not None:
                self._audio = self._container.add_stream_from_template(audio_copy)
            elif audio is not None:
                self._add_audio(audio, audio_codec_for(self.codec, ext))
        except Exception as e:
            self._abandon()
            if isinstance(e, MediaError):
                raise
            raise MediaError(f"cannot write {self.codec.label} to {self.path.name}: {e}") from None

    # -- setting up --------------------------------------------------------------------------
    def _format_options(self, ext: str) -> dict[str, str]:
        if ext not in (".mp4", ".mov", ".m4v"):
            return {"flush_packets": "1"} if self.crash_safe else {}
        if self.crash_safe:  # a fragment a second: what was written plays whatever happens next
            flags = "empty_moov+default_base_moof" + ("" if self.codec.intra else "+frag_keyframe")
            return {"movflags": flags, "frag_duration": "1000000", "flush_packets": "1"}  # on disk, not in a buffer
        return {"movflags": "+faststart"}

    def _add_video(self, hardware: bool, realtime: bool):
        spec, (w, h) = self.codec, self.size
        if spec.encoder.startswith("hap"):
            from .hap import HapTrack

            self.encoder = spec.encoder
            self._hap = HapTrack(self._container, spec.encoder, w, h, self.fps)
            return self._hap
        self._hap = None
        self.coded_size = (_even(w), _even(h)) if spec.pix_fmt.startswith(("yuv4", "yuvj4")) else (w, h)
        encoder, options = spec.encoder, {**spec.options, **(spec.realtime if realtime else {})}
        if encoder not in av.codecs_available:  # an FFmpeg built without it (e.g. without the GPL x264)
            encoder, options = next(((e, {}) for e in spec.fallbacks if e in av.codecs_available), (encoder, options))
        if hardware:
            for hw in spec.hardware:
                if not hardware_present(hw):
                    continue
                why = hardware_opens(hw, *self.coded_size, self.fps)
                if why is None:
                    encoder, options = hw, {}
                    break
                self.notice = f"{hw} would not start ({why}): encoding with {spec.encoder} on the CPU instead"
        rate = Fraction(self.fps).limit_denominator(1001)
        stream = self._container.add_stream(encoder, rate=rate, options=options)
        stream.width, stream.height = self.coded_size
        stream.pix_fmt = spec.pix_fmt
        if spec.frame_threads and encoder == spec.encoder:
            stream.codec_context.thread_type = "AUTO"
        if not spec.intra:
            stream.codec_context.gop_size = max(1, round(self.fps))  # a keyframe a second: seeking, fragments
        self.encoder = encoder
        return stream

    def _add_audio(self, fmt: AudioFormat, codec: str) -> None:
        layout = {1: "mono", 2: "stereo"}.get(fmt.channels)
        if layout is None:
            raise MediaError(f"cannot write {fmt.channels} sound channels: use 1 or 2")
        stream = self._container.add_stream(codec, rate=fmt.rate, layout=layout)
        if codec == "aac":
            stream.bit_rate = 192000 if fmt.channels == 2 else 128000
        self._audio, self._audio_format = stream, fmt

    # -- writing -------------------------------------------------------------------------------
    def _mux(self, packets) -> None:
        try:
            self._container.mux(packets)
        except OSError as e:
            self._failed = _disk_problem(e, self.path)
            raise MediaError(self._failed) from None
        except av.FFmpegError as e:  # the muxer refused a packet (a codec this container will not hold, ...)
            self._failed = f"cannot write {self.path.name}: {e}"
            raise MediaError(self._failed) from None

    def _encode(self, stream, frame):
        """The packets ``frame`` makes; an encoder that fails (a hardware encoder lost mid-stream, ...) is one
        line, and the file stops here (what was written stays)."""
        try:
            return stream.encode(frame)
        except OSError as e:
            self._failed = _disk_problem(e, self.path)
        except av.FFmpegError as e:
            self._failed = f"the {stream.codec_context.name} encoder failed while writing {self.path.name}: {e}"
        raise MediaError(self._failed)

    def _sync(self) -> None:
        """Once a second of a crash-safe file: what the system holds for it goes to the disk, so a power cut
        loses at most the last second or two, not what the cache held."""
        if self._sync_fd is not None and self.frames % max(1, round(self.fps)) == 0:
            try:
                os.fsync(self._sync_fd)
            except OSError:
                pass

    def _check(self) -> None:
        if self.closed:
            raise MediaError(f"{self.path.name} is already closed")
        if self._failed:
            raise MediaError(self._failed)

    def write(self, rgb: np.ndarray) -> None:
        """The next frame (HxWx3 RGB uint8; HxWx4 RGBA for HAP Alpha), resized to the file's size if it differs."""
        self._check()
        if (rgb.shape[1], rgb.shape[0]) != self.size:
            rgb = cv2.resize(rgb, self.size, interpolation=cv2.INTER_AREA if rgb.shape[1] > self.size[0] else cv2.INTER_LINEAR)
        if self._hap is not None:
            self._hap_frame(self._hap.encode, rgb)
            return
        if rgb.ndim == 3 and rgb.shape[2] == 4:
            rgb = rgb[:, :, :3]
        if self.coded_size != self.size:  # 4:2:0 and 4:2:2 want even sizes: repeat the last column or row
            rgb = np.pad(rgb, ((0, self.coded_size[1] - self.size[1]), (0, self.coded_size[0] - self.size[0]), (0, 0)), mode="edge")
        frame = rgb_frame(rgb)
        frame.pts = self.frames
        packets = self._encode(self._video, frame)
        own = self.codec.intra and len(packets) == 1 and packets[0].pts == frame.pts  # (frame threads: an older one)
        if own:  # this frame's packet alone shows it: repeat() reuses it
            # (the time base the encoder stamped it in: muxing rescales the packet to the stream's)
            self._last_packet = (packet_bytes(packets[0]), packets[0].time_base)
        self._mux(packets)
        self.frames += 1
        self._sync()
        if not own:
            self._last_packet, self._last_rgb = None, rgb

    def _hap_frame(self, action, *image) -> None:
        """One HAP frame (``encode`` or ``repeat``) at the next place; a failure is one line, as for the others."""
        try:
            action(*image, self.frames)
        except OSError as e:
            self._failed = _disk_problem(e, self.path)
            raise MediaError(self._failed) from None
        except av.FFmpegError as e:
            self._failed = f"cannot write {self.path.name}: {e}"
            raise MediaError(self._failed) from None
        self.frames += 1
        self._sync()

    def repeat(self) -> None:
        """The last frame once more (a recorder filling a gap): for ProRes, HAP, DNxHR and MJPEG its packet is
        muxed again, which costs nothing; other codecs encode the frame again."""
        self._check()
        if self._hap is not None:
            if self._hap.last is None:
                raise MediaError("no frame to repeat yet")
            self._hap_frame(self._hap.repeat)
            return
        if self._last_packet is None:
            if self._last_rgb is None:
                raise MediaError("no frame to repeat yet")
            self.write(self._last_rgb)
            return
        data, time_base = self._last_packet
        packet = av.Packet(data)
        packet.stream = self._video
        packet.time_base = time_base
        packet.pts = packet.dts = self.frames
        packet.duration = 1
        packet.is_keyframe = True
        self._mux(packet)
        self.frames += 1

    def write_audio(self, samples: np.ndarray) -> None:
        """The next sound samples: float32 (n, channels) in -1..1, following the ones written before."""
        self._check()
        if self._audio_format is None:
            raise MediaError(f"{self.path.name} was opened without a sound track")
        data = np.asarray(samples, np.float32)
        if data.ndim == 1:
            data = data[:, None]
        n = len(data)
        if n == 0:
            return
        if self._audio.codec_context.name == "aac":
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(data.T), format="fltp", layout=self._audio.layout.name)
        else:
            pcm = (np.clip(data, -1.0, 1.0) * 32767.0).astype(np.int16).reshape(1, -1)
            frame = av.AudioFrame.from_ndarray(pcm, format="s16", layout=self._audio.layout.name)
        frame.sample_rate = self._audio_format.rate
        frame.pts = self.audio_samples
        self._mux(self._encode(self._audio, frame))
        self.audio_samples += n

    def copy_audio(self, packet) -> None:
        """A sound packet demuxed from the ``audio_copy`` stream, copied as it is."""
        self._check()
        if packet.dts is None:  # a flush packet from the demuxer
            return
        packet.stream = self._audio
        self._mux(packet)

    # -- finishing -------------------------------------------------------------------------------
    def _release_sync(self) -> None:
        fd, self._sync_fd = self._sync_fd, None
        if fd is not None:
            os.close(fd)

    def _abandon(self) -> None:
        try:
            self._container.close()
        except Exception:
            pass
        self._release_sync()
        _remove(self._tmp)

    def close(self, keep: bool = True) -> None:
        """Finish the file under its name (``keep``), or remove the partial file; a second call does nothing.

        After a full disk a crash-safe file keeps everything written up to its last whole fragment."""
        if self.closed:
            return
        self.closed = True
        wanted = keep
        keep = keep and (self._failed is None or self.crash_safe) and self.frames > 0
        error: str | None = None
        try:
            if self._failed is None:
                if self._hap is not None:
                    self._hap.flush()
                else:
                    self._container.mux(self._video.encode())
                if self._audio is not None and self._audio_format is not None:
                    self._container.mux(self._audio.encode())
        except OSError as e:
            error = self._failed = _disk_problem(e, self.path)
        except Exception as e:  # an encoder that fails on its last frames: the file still gets closed
            error = self._failed = f"cannot finish {self.path.name}: {e}"
        try:
            self._container.close()
        except OSError as e:
            error = error or _disk_problem(e, self.path)
        except Exception as e:  # the trailer of a file the disk cut short: the fragments before it stand
            error = error or f"cannot finish {self.path.name}: {e}"
        finally:
            self._release_sync()
        if keep and (error is None or self.crash_safe):
            if self._failed and self.crash_safe and self.path.suffix.lower() in (".mp4", ".mov", ".m4v"):
                trim_to_whole_fragments(self._tmp)  # the fragment the disk cut short goes: the rest plays cleanly
            try:
                os.replace(self._tmp, self.path)
            except OSError as e:
                _remove(self._tmp)
                raise MediaError(f"cannot write video {self.path}: {e.strerror or e} (check the folder is writable)") from None
        else:
            _remove(self._tmp)
        if error and wanted and not self.crash_safe:
            raise MediaError(error)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *_):
        self.close(keep=exc_type is None)


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # nothing more can be done about a file we cannot remove
        pass
