"""The video codecs DreamDeck writes, what each is for, and which container holds which.

One table: the ``record_codec`` parameter's choices, the ``--codec`` flag, the writer and the
README's recording section all read it.  :func:`choose_codec` turns a path and a codec name
into a :class:`CodecSpec`, or one :class:`~engine.media.files.MediaError` line that says what to
change (an unknown codec, HAP in ``.mp4``, an extension nothing writes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..params.catalog import RECORD_CODECS
from .errors import MediaError


@dataclass(frozen=True)
class CodecSpec:
    name: str  # as the user says it: record_codec / --codec
    label: str  # in a sentence: "H.264"
    use: str  # what it is for, in the user's words
    encoder: str  # FFmpeg's encoder ("hap*": DreamDeck's own HAP frames, engine/media/hap.py); ProRes uses
    # prores_aw, a quarter of prores_ks's CPU time at the same size, so a live 1080p recording keeps up
    pix_fmt: str
    extensions: tuple[str, ...]  # containers that hold it, the first is what a render suggests
    options: dict[str, str] = field(default_factory=dict)  # encoder options
    intra: bool = False  # every frame a keyframe (editing and playback codecs)
    alpha: bool = False  # keeps an alpha channel (RGBA frames in)
    hardware: tuple[str, ...] = ()  # hardware encoders tried first when the machine has them
    realtime: dict[str, str] = field(default_factory=dict)  # option changes for a live recording: keep up first
    fallbacks: tuple[str, ...] = ()  # software encoders for an FFmpeg built without ``encoder`` (a GPL-free build)
    frame_threads: bool = False  # encode frames on several cores (ProRes at 1080p: 35 -> 18 ms a frame on 2 cores)


H264_OPTIONS = {"crf": "20", "preset": "veryfast"}

CODECS: dict[str, CodecSpec] = {c.name: c for c in (
    CodecSpec("h264", "H.264", "to share: browsers, social platforms, OBS and every player", "libx264", "yuv420p",
              (".mp4", ".mov", ".mkv", ".m4v"), H264_OPTIONS, hardware=("h264_nvenc", "h264_videotoolbox"),
              realtime={"preset": "superfast"}, fallbacks=("libopenh264",)),
    CodecSpec("hevc", "HEVC (H.265)", "to share at half the size of H.264, where players take it", "libx265", "yuv420p",
              (".mp4", ".mov", ".mkv", ".m4v"), {"crf": "24", "preset": "fast", "x265-params": "log-level=error"},
              hardware=("hevc_nvenc", "hevc_videotoolbox"), realtime={"preset": "ultrafast"}),
    CodecSpec("prores", "ProRes 422 HQ", "to edit (Premiere, Resolve, Final Cut)", "prores_aw", "yuv422p10le", (".mov",),
              {"profile": "3", "vendor": "apl0"}, intra=True, frame_threads=True),
    CodecSpec("prores_lt", "ProRes 422 LT", "to edit, at about half the size of HQ", "prores_aw", "yuv422p10le", (".mov",),
              {"profile": "1", "vendor": "apl0"}, intra=True, frame_threads=True),
    CodecSpec("hap", "HAP", "to replay in Resolume or TouchDesigner (decoded on the GPU)", "hap", "rgb24", (".mov",),
              intra=True),
    CodecSpec("hap_alpha", "HAP Alpha", "HAP with transparency", "hap_alpha", "rgba", (".mov",), intra=True, alpha=True),
    CodecSpec("hap_q", "HAP Q", "HAP at higher quality and twice the size", "hap_q", "rgb24", (".mov",), intra=True),
    CodecSpec("dnxhr", "DNxHR HQ", "to edit (Avid Media Composer)", "dnxhd", "yuv422p", (".mov",),
              {"profile": "dnxhr_hq"}, intra=True),
    CodecSpec("mp4v", "MPEG-4 Part 2", "old players only (what DreamDeck wrote before H.264)", "mpeg4", "yuv420p",
              (".mp4", ".mov", ".mkv", ".avi", ".m4v"), {"qscale": "3"}),
    CodecSpec("mjpeg", "Motion JPEG", "old editing tools that want .avi", "mjpeg", "yuvj420p", (".avi", ".mov", ".mkv"),
              {"qscale": "3"}, intra=True),
)}
assert set(CODECS) | {"auto"} == set(RECORD_CODECS), "engine/params/catalog.py RECORD_CODECS and CODECS disagree"

# "auto": the extension decides where one codec is the obvious reading of it
BY_EXTENSION = {".mp4": "h264", ".m4v": "h264", ".mkv": "h264", ".mov": "prores", ".avi": "mjpeg"}
VIDEO_EXTENSIONS = tuple(sorted(BY_EXTENSION))

# the sound in each container: AAC to share, PCM where editors expect it (QuickTime with an editing codec)
AUDIO_CODEC = {".mp4": "aac", ".m4v": "aac", ".mkv": "aac", ".mov": "aac", ".avi": "pcm_s16le"}


def audio_codec_for(spec: CodecSpec, ext: str) -> str:
    """The sound codec a file of this codec and extension gets: PCM beside the editing codecs in .mov."""
    if ext == ".mov" and spec.intra:
        return "pcm_s16le"
    return AUDIO_CODEC[ext]


def codec_names() -> str:
    return ", ".join(RECORD_CODECS)


def choose_codec(path: str | Path, codec: str | None = "auto") -> CodecSpec:
    """The codec a file at ``path`` is written in; MediaError (one line) when the pair cannot be written."""
    ext = Path(path).suffix.lower()
    if ext not in BY_EXTENSION:
        raise MediaError(f"unsupported video extension {ext or '(none)'!r} for {Path(path).name}: use one of "
                         f"{', '.join(VIDEO_EXTENSIONS)}")
    name = (codec or "auto").strip().lower()
    if name == "auto":
        return CODECS[BY_EXTENSION[ext]]
    spec = CODECS.get(name)
    if spec is None:
        raise MediaError(f"unknown codec {codec!r}: use one of {codec_names()}")
    if ext not in spec.extensions:
        where = " or ".join(spec.extensions)
        why = " (Resolume and TouchDesigner read HAP from QuickTime .mov)" if name.startswith("hap") else ""
        raise MediaError(f"{spec.label} does not fit in {ext}: record to {where}{why}, or choose another codec")
    return spec


# -- a render's sound, copied as it is ------------------------------------------------------------
# Which sound codecs each container takes as they are (the rest is re-encoded: audio_codec_for).  Each
# pair was written by PyAV's muxer and read back, tone in place (tests/engine/test_audio_copy_table.py).
# Left out on purpose: PCM in MP4 (the muxer fails only when the file is closed), MP3, MP2 and AAC in
# AVI (the encoder's priming is not marked there: the sound plays 10-25 ms late), Vorbis in MP4
# (players do not take it), Opus, FLAC and TrueHD in QuickTime (the muxer refuses them), DTS and TrueHD
# outside Matroska.  '.m4v' (the iPod muxer) takes only AAC, AC-3 and ALAC.
_PCM_COPY = ("pcm_s16le", "pcm_s16be", "pcm_s24le", "pcm_s24be", "pcm_s32le", "pcm_f32le", "pcm_f64le", "pcm_u8")
AUDIO_COPY_FITS: dict[str, frozenset[str]] = {
    ".mp4": frozenset({"aac", "mp3", "ac3", "eac3", "alac", "opus", "flac"}),
    ".m4v": frozenset({"aac", "ac3", "alac"}),
    ".mov": frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "alac", *_PCM_COPY}),
    ".mkv": frozenset({"aac", "mp3", "mp2", "ac3", "eac3", "dts", "truehd", "alac", "opus", "vorbis", "flac", *_PCM_COPY}),
    ".avi": frozenset({"ac3", "pcm_s16le", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_f64le", "pcm_u8"}),
}
_DECODER_NAMES = {"mp3float": "mp3", "mp2float": "mp2", "aac_fixed": "aac", "ac3_fixed": "ac3", "libopus": "opus",
                  "libvorbis": "vorbis", "dca": "dts"}


def audio_copy_fits(audio_codec_name: str, ext: str) -> bool:
    """A file with extension ``ext`` ('.mp4' or 'mp4') takes sound in ``audio_codec_name`` (FFmpeg's codec name,
    as ffprobe gives it; a decoder's name such as 'mp3float' is understood) copied as it is."""
    ext = ext.lower() if ext.startswith(".") else "." + ext.lower()
    name = (audio_codec_name or "").lower()
    return _DECODER_NAMES.get(name, name) in AUDIO_COPY_FITS.get(ext, frozenset())
