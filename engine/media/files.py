"""Still images (OpenCV) and video files (PyAV, engine/media/writer.py) in and out, as RGB uint8 frames.

Every failure becomes a :class:`MediaError` whose message says what to do.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

# FFmpeg's own console chatter ("moov atom not found") is not for users: every
# failure here becomes one MediaError line instead.  Must be set before cv2 opens a file.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

import cv2  # noqa: E402
import numpy as np

from .codecs import CodecSpec, choose_codec
from .errors import MediaError
from .writer import AudioFormat, MediaWriter

IMAGE_EXTS = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
VideoWriter = MediaWriter  # the name the renderers and the recorder knew before PyAV
__all__ = ["AudioFormat", "MediaError", "MediaWriter", "VideoWriter"]


def is_image_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTS


@dataclass
class MediaInfo:
    kind: str  # 'image' or 'video'
    width: int
    height: int
    fps: float  # a video's average rate (a variable-rate file's frames carry their own times)
    frame_count: int  # exact when the container states it, else estimated from the duration
    duration_s: float = 0.0
    video_codec: str = ""  # FFmpeg's name: 'h264', 'hevc', 'prores', 'hap', ...
    has_audio: bool = False
    audio_codec: str = ""
    audio_rate: int = 0
    audio_channels: int = 0
    audio_duration_s: float = 0.0


def probe(path: str | os.PathLike) -> MediaInfo:
    p = Path(path)
    if not p.exists():
        raise MediaError(f"input file not found: {p} (check the path)")
    if not p.is_file():
        raise MediaError(f"input is not a file: {p}")
    if is_image_path(p):
        img = read_image(p)
        return MediaInfo("image", img.shape[1], img.shape[0], 0.0, 1)
    from engine.media.reader import probe_media  # PyAV loads when a video is first probed

    v = probe_media(p)
    return MediaInfo("video", v.width, v.height, v.fps, v.frame_count, v.duration_s, v.video_codec, v.has_audio,
                     v.audio_codec, v.audio_rate, v.audio_channels, v.audio_duration_s)


def check_output_folder(path: str | os.PathLike) -> None:
    """The folder a file will be written into exists and is writable, as the system will walk the path:
    ``missing/../x.mp4`` fails there although it resolves to ``./x.mp4`` on paper."""
    as_given = Path(path).expanduser().parent
    if not os.path.isdir(as_given):
        raise MediaError(f"output folder does not exist: {as_given} (create it first or choose another path)")
    folder = Path(path).expanduser().resolve().parent
    if not folder.is_dir():
        raise MediaError(f"output folder does not exist: {folder} (create it first or choose another path)")
    if not os.access(folder, os.W_OK):
        raise MediaError(f"output folder is not writable: {folder}")


def check_video_output(path: str | os.PathLike, codec: str | None = "auto") -> CodecSpec:
    """What :class:`MediaWriter` will refuse, said before anything slow starts: the extension, the codec
    (HAP in .mp4, a name no encoder has) and the folder.  Returns the codec the file will be written in."""
    spec = choose_codec(path, codec)
    check_output_folder(path)
    return spec


def _remove(path: Path) -> None:
    try:
        path.unlink(missing_ok=True)
    except OSError:  # nothing more can be done about a file we cannot remove
        pass


def free_name(path: str | os.PathLike) -> Path:
    """``path``, or ``NAME-2.EXT``, ``NAME-3.EXT``...: the first name that neither a file nor a recording still
    being written (``NAME.part.EXT``) holds, so a new take never replaces the last one."""
    p = Path(path)
    stem, ext = p.stem, p.suffix
    base, _, number = stem.rpartition("-")
    n = int(number) if base and number.isdigit() and len(number) < 4 else 1
    if n == 1:
        base = stem
    candidate = p
    while candidate.exists() or candidate.with_name(candidate.stem + ".part" + ext).exists():
        n += 1
        candidate = p.with_name(f"{base}-{n}{ext}")
    return candidate


def read_image(path: str | os.PathLike) -> np.ndarray:
    data = np.fromfile(str(path), dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise MediaError(f"cannot read image {path}: the file is damaged or not an image (PNG, JPEG, BMP, WebP, TIFF)")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def iter_video(path: str | os.PathLike) -> Iterator[np.ndarray]:
    """Every frame of a video file in order, HxWx3 uint8 RGB, as displayed (rotation applied);
    :func:`engine.media.reader.iter_frames` gives each frame's time as well."""
    from engine.media.reader import iter_frames

    for frame in iter_frames(path):
        yield frame.rgb


def write_image(path: str | os.PathLike, rgb: np.ndarray) -> None:
    p = Path(path)
    ok, buf = cv2.imencode(p.suffix or ".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise MediaError(f"cannot encode an image as {p.suffix!r}: use .png or .jpg")
    tmp = p.with_name(p.name + ".part")
    try:
        buf.tofile(str(tmp))
        os.replace(tmp, p)
    except OSError as e:
        _remove(tmp)  # no partial file is left behind
        raise MediaError(f"cannot write {p}: {e.strerror or e} (check the folder exists and is writable)") from None
