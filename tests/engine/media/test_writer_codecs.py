"""Every codec DreamDeck writes, with pictures from the tiny model, checked by ffprobe (an independent reader);
ProRes and HAP decoded back through DreamDeck's own reader; the refusals are one line each."""

from __future__ import annotations

import json
import os
import shutil
import subprocess

import numpy as np
import pytest

from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.media.codecs import CODECS, choose_codec
from engine.media.errors import MediaError
from engine.media.files import check_video_output
from engine.media.reader import iter_frames
from engine.media.test_pattern import pattern_frame
from engine.media.writer import AudioFormat, MediaWriter
from engine.render import stream_frames

W, H, FPS, N = 256, 128, 25, 12
FILES = {
    "h264": ".mp4", "hevc": ".mkv", "prores": ".mov", "prores_lt": ".mov", "hap": ".mov", "hap_alpha": ".mov",
    "hap_q": ".mov", "dnxhr": ".mov", "mp4v": ".mp4", "mjpeg": ".avi",
}
PROFILE = {"prores": "HQ", "prores_lt": "LT", "dnxhr": "DNXHR HQ"}
CODEC_NAME = {"h264": "h264", "hevc": "hevc", "prores": "prores", "prores_lt": "prores", "hap": "hap", "hap_alpha": "hap",
              "hap_q": "hap", "dnxhr": "dnxhd", "mp4v": "mpeg4", "mjpeg": "mjpeg"}
needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed (apt install ffmpeg)")


def ffprobe(path) -> dict:
    r = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", str(path)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0 ** 2 / mse)


@pytest.fixture(scope="module")
def painted(tiny_bundle):
    """N frames the tiny model painted from the moving test pattern, at a 16:9 frame."""
    stream = DiffusionStream(tiny_bundle, StreamSettings(width=W, height=H, steps=2, strength=0.6))
    return [np.ascontiguousarray(f) for f in stream_frames(stream, [pattern_frame(i / FPS, W, H) for i in range(N)])]


def test_the_codec_table_covers_every_choice_of_the_parameter():
    assert set(FILES) == set(CODECS)


@needs_ffprobe
@pytest.mark.parametrize("codec", sorted(FILES))
def test_each_codec_writes_what_ffprobe_reads_back(codec, painted, tmp_path):
    path = tmp_path / f"clip{FILES[codec]}"
    frames = painted
    if codec == "hap_alpha":  # an alpha channel that varies across the picture
        alpha = np.tile(np.linspace(0, 255, W, dtype=np.uint8), (H, 1))[..., None]
        frames = [np.concatenate([f, alpha], axis=2) for f in painted]
    with MediaWriter(path, FPS, (W, H), codec=codec, audio=AudioFormat()) as w:
        for f in frames:
            w.write(f)
            w.write_audio(np.zeros((48000 // FPS, 2), np.float32))
    assert path.is_file() and not list(tmp_path.glob("*.part*"))
    info = ffprobe(path)
    video = [s for s in info["streams"] if s["codec_type"] == "video"]
    audio = [s for s in info["streams"] if s["codec_type"] == "audio"]
    assert len(video) == 1 and len(audio) == 1
    v = video[0]
    assert v["codec_name"] == CODEC_NAME[codec]
    assert (v["width"], v["height"]) == (W, H)
    assert int(v["nb_read_frames"]) == N
    assert abs(float(info["format"]["duration"]) - N / FPS) <= 1.5 / FPS
    if codec in PROFILE:
        assert v["profile"] == PROFILE[codec]
    assert audio[0]["codec_name"] == ("pcm_s16le" if codec in ("prores", "prores_lt", "dnxhr", "hap", "hap_alpha", "hap_q", "mjpeg") else "aac")


@needs_ffprobe
@pytest.mark.parametrize("codec, floor_db", [("prores", 33.0), ("hap", 32.0), ("hap_q", 34.0)])
def test_prores_and_hap_decode_back_through_the_same_layer(codec, floor_db, painted, tmp_path):
    """The tiny model's pictures come back frame for frame; the test pattern (sharp colour edges, flat fields: a
    picture the codecs are made for, where the random-weight model paints pixel noise) comes back close."""
    path = tmp_path / "back.mov"
    with MediaWriter(path, FPS, (W, H), codec=codec) as w:
        for f in painted:
            w.write(f)
    back = [vf.rgb for vf in iter_frames(path)]
    assert len(back) == N and back[0].shape == (H, W, 3)
    pattern = [pattern_frame(i / FPS, W, H) for i in range(N)]
    with MediaWriter(path, FPS, (W, H), codec=codec) as w:
        for f in pattern:
            w.write(f)
    back = [vf.rgb for vf in iter_frames(path)]
    quality = min(psnr(a, b) for a, b in zip(pattern, back))
    assert quality > floor_db, f"{codec}: {quality:.1f} dB"


@needs_ffprobe
def test_a_crash_safe_recording_is_fragmented_and_plays_before_it_is_closed(painted, tmp_path):
    """What a crash leaves: the .part file, read while the writer still has it open, already plays."""
    path = tmp_path / "show.mp4"
    w = MediaWriter(path, FPS, (W, H), crash_safe=True, realtime=True)
    for _ in range(5):  # 60 frames: more than two one-second fragments
        for f in painted:
            w.write(f)
    part = tmp_path / "show.part.mp4"
    assert part.is_file() and not path.exists()
    played = int(ffprobe(part)["streams"][0]["nb_read_frames"])
    w.close()
    assert played >= 2 * FPS  # the whole fragments written so far
    assert int(ffprobe(path)["streams"][0]["nb_read_frames"]) == 5 * N


def test_odd_sizes_are_written_whole(tmp_path):
    path = tmp_path / "odd.mp4"
    with MediaWriter(path, 10, (97, 55)) as w:
        for i in range(3):
            w.write(pattern_frame(i / 10, 97, 55))
    back = [vf.rgb for vf in iter_frames(path)]
    assert len(back) == 3 and back[0].shape[1] >= 97 and back[0].shape[0] >= 55


@pytest.mark.parametrize("path, codec, words", [
    ("x.mp4", "nope", "unknown codec 'nope'"),
    ("x.mp4", "hap", "HAP does not fit in .mp4: record to .mov"),
    ("x.mp4", "prores", "ProRes 422 HQ does not fit in .mp4"),
    ("x.webm", "auto", "unsupported video extension '.webm'"),
])
def test_impossible_pairs_are_one_line(path, codec, words, tmp_path):
    with pytest.raises(MediaError) as e:
        choose_codec(tmp_path / path, codec)
    assert words in str(e.value) and "\n" not in str(e.value)


def test_auto_reads_the_extension():
    assert [choose_codec(f"a{e}").name for e in (".mp4", ".mkv", ".mov", ".avi")] == ["h264", "h264", "prores", "mjpeg"]


def test_an_unwritable_folder_is_refused_before_anything_starts(tmp_path):
    """chmod for a user; for root (CI), who writes anywhere, a read-only filesystem mounted for the test."""
    locked = tmp_path / "locked"
    locked.mkdir()
    mounted = False
    if os.geteuid() == 0:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(locked)]).returncode == 0
        if not mounted:
            pytest.skip("cannot mount a read-only tmpfs here (root without mount rights)")
    else:
        locked.chmod(0o500)
    try:
        with pytest.raises(MediaError, match="not writable") as e:
            check_video_output(locked / "show.mp4")
        assert "\n" not in str(e.value)
        with pytest.raises(MediaError):
            MediaWriter(locked / "show.mp4", 10, (64, 48))
    finally:
        if mounted:
            subprocess.run(["umount", str(locked)])
        else:
            locked.chmod(0o700)


def test_a_hardware_encoder_that_will_not_open_falls_back_in_one_line(monkeypatch, tmp_path):
    """Where NVENC is in the build but will not start (no GPU here), x264 takes over and says so once."""
    import engine.media.writer as writer

    if "h264_nvenc" not in writer.av.codecs_available or writer.hardware_opens("h264_nvenc", 64, 48, 10.0) is None:
        pytest.skip("NVENC is missing from this build or works here: nothing falls back")
    monkeypatch.setattr(writer, "hardware_present", lambda name: name == "h264_nvenc")
    with MediaWriter(tmp_path / "hw.mp4", 10, (64, 48)) as w:
        w.write(np.zeros((48, 64, 3), np.uint8))
    assert w.encoder == "libx264"
    assert w.notice and w.notice.startswith("h264_nvenc would not start") and "\n" not in w.notice


@pytest.mark.parametrize("codec, ext", [("prores", ".mov"), ("hap", ".mov"), ("h264", ".mp4"), ("mjpeg", ".avi")])
def test_a_repeated_frame_is_the_same_picture_at_the_next_time(codec, ext, tmp_path):
    """The recorder fills a gap with repeat(): intra codecs mux the last packet again (the same picture, bit for
    bit); the others encode it again."""
    path = tmp_path / f"gaps{ext}"
    frames = [pattern_frame(i / FPS, W, H) for i in range(2)]
    with MediaWriter(path, FPS, (W, H), codec=codec, crash_safe=True) as w:
        w.write(frames[0])
        for _ in range(5):
            w.repeat()
        w.write(frames[1])
        w.repeat()
    back = list(iter_frames(path))
    assert [round(f.t * FPS) for f in back] == list(range(8))
    if codec != "h264":
        assert all(np.array_equal(back[0].rgb, back[k].rgb) for k in range(1, 6))
        assert np.array_equal(back[6].rgb, back[7].rgb) and not np.array_equal(back[0].rgb, back[6].rgb)
