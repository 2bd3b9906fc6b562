"""engine.media.codecs.audio_copy_fits: every container/sound-codec pair it names is written by PyAV's
muxer (through the render's own sound carrier, engine/render_sound.py) with the sound copied as it is,
and read back: ffprobe names the same codec, and the tone starts and ends where it did in the source.
Sources are made by the system's ffmpeg (a different FFmpeg build: the independent side)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from engine.media.codecs import AUDIO_COPY_FITS, audio_codec_for, audio_copy_fits, choose_codec
from engine.media.writer import MediaWriter
from engine.render_sound import open_sound
from media_clips import require_ffmpeg, stream
from tone_check import tone

FPS = 25
# the encoder the system ffmpeg makes each codec with, and a container that holds it
SOURCES = {
    "aac": ("aac", ".mkv"), "mp3": ("libmp3lame", ".mkv"), "mp2": ("mp2", ".mkv"), "ac3": ("ac3", ".mkv"),
    "eac3": ("eac3", ".mkv"), "dts": ("dca", ".mkv"), "truehd": ("truehd", ".mkv"), "alac": ("alac", ".mkv"),
    "opus": ("libopus", ".mkv"), "vorbis": ("libvorbis", ".mkv"), "flac": ("flac", ".mkv"),
    "pcm_s16le": ("pcm_s16le", ".mov"), "pcm_s16be": ("pcm_s16be", ".mov"), "pcm_s24le": ("pcm_s24le", ".mov"),
    "pcm_s24be": ("pcm_s24be", ".mov"), "pcm_s32le": ("pcm_s32le", ".mov"), "pcm_f32le": ("pcm_f32le", ".mov"),
    "pcm_f64le": ("pcm_f64le", ".mov"), "pcm_u8": ("pcm_u8", ".mov"),
}
PAIRS = sorted((ext, codec) for ext, codecs in AUDIO_COPY_FITS.items() for codec in codecs)


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    require_ffmpeg()
    folder = tmp_path_factory.mktemp("copy-sources")
    made = {}
    for codec, (encoder, ext) in SOURCES.items():
        path = folder / f"{codec}{ext}"
        r = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y",
                            "-f", "lavfi", "-i", f"testsrc2=size=64x48:rate={FPS}:duration=1",
                            "-f", "lavfi", "-i", "sine=frequency=1000:sample_rate=48000:duration=1",
                            "-c:v", "mjpeg", "-c:a", encoder, "-strict", "-2", "-ac", "2", str(path)],
                           capture_output=True, text=True, timeout=60)
        made[codec] = path if r.returncode == 0 else r.stderr.strip().splitlines()[-1:]
    return made


def copy_render(src, dst) -> str:
    """What a render does with the sound, around frames of grey: returns 'copied' or 're-encoded'."""
    sound = open_sound(src, dst)
    with sound, MediaWriter(dst, FPS, (64, 48), **sound.writer_options()) as writer:
        sound.start(writer)
        for k in range(FPS):
            writer.write(np.full((48, 64, 3), 100, np.uint8))
            sound.until((k + 1) / FPS)
        sound.finish()
    return sound.report.action


def test_every_claimed_codec_has_a_source():
    assert {codec for _, codec in PAIRS} <= set(SOURCES)


@pytest.mark.parametrize("ext,codec", PAIRS, ids=[f"{c}{e}" for e, c in PAIRS])
def test_claimed_pair_copies_and_keeps_the_tone_in_place(sources, tmp_path, ext, codec):
    src = sources[codec]
    if not hasattr(src, "suffix"):
        pytest.skip(f"the system ffmpeg cannot make {codec}: {src}")
    dst = tmp_path / f"out{ext}"
    assert copy_render(src, dst) == "copied"
    assert stream(dst, "a")["codec_name"] == codec  # ffprobe: the codec as it was
    before, after = tone(src), tone(dst)
    assert abs(after.pitch - 1000) < 3
    # in place: where a container cannot start sound before the first picture (MP4), the part before it goes
    assert abs(after.onset - max(0.0, before.onset)) < 0.012, (before, after)
    assert abs(after.offset - before.offset) < 0.012, (before, after)


@pytest.mark.parametrize("codec,ext", [("pcm_s16le", ".mp4"), ("mp3", ".avi"), ("aac", ".avi"), ("opus", ".mov"),
                                       ("flac", ".mov"), ("vorbis", ".mp4"), ("mp3", ".m4v"), ("truehd", ".mov")])
def test_pairs_left_out_are_re_encoded(sources, tmp_path, codec, ext):
    """Pairs FFmpeg refuses (PCM in MP4 fails only when the file closes) or plays late (priming unmarked in AVI)
    are not copied: the render re-encodes them, and the tone stays in place."""
    assert not audio_copy_fits(codec, ext)
    src = sources[codec]
    if not hasattr(src, "suffix"):
        pytest.skip(f"the system ffmpeg cannot make {codec}: {src}")
    dst = tmp_path / f"out{ext}"
    assert copy_render(src, dst) == "re-encoded"
    assert stream(dst, "a")["codec_name"] == audio_codec_for(choose_codec(dst), ext)  # AAC; PCM in .avi, beside ProRes
    before, after = tone(src), tone(dst)
    assert abs(after.onset - max(0.0, before.onset)) < 0.012 and abs(after.offset - before.offset) < 0.012, (before, after)


def test_names_as_decoders_and_extensions_without_a_dot():
    assert audio_copy_fits("mp3float", "mp4") and audio_copy_fits("AAC", ".MOV") and audio_copy_fits("libopus", ".mkv")
    assert not audio_copy_fits("pcm_s16le", ".mp4") and not audio_copy_fits("aac", ".webm") and not audio_copy_fits("", ".mkv")
