"""Reading video files through PyAV: H.264, ProRes, HEVC, HAP and variable-rate files decode with each
frame's own time, the sound comes out resampled on the same time axis, and bad files are one line.
Every file is written here by the system's ffmpeg and checked against ffprobe / ffmpeg's own decode."""

import numpy as np
import pytest

from engine.media.files import MediaError, iter_video, probe
from engine.media.reader import VideoReader, iter_audio, iter_frames, probe_media, read_audio
from media_clips import PICTURE, TONE, decode_rgb, frame_times, make, require_ffmpeg, stream

CLIPS = {
    "h264.mp4": [*PICTURE, *TONE, "-t", "2", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac"],
    "prores.mov": [*PICTURE, *TONE, "-t", "2", "-c:v", "prores_ks", "-profile:v", "3", "-c:a", "pcm_s16le"],
    "hevc.mkv": [*PICTURE, *TONE, "-t", "2", "-c:v", "libx265", "-x265-params", "log-level=error", "-c:a", "libopus"],
    "hap.mov": [*PICTURE, "-t", "2", "-c:v", "hap"],
    # 25 frames at 25 fps, then 10 at 10 fps (time base 1 ms, so the 100 ms steps are kept)
    "vfr.mkv": [*PICTURE, "-frames:v", "35", "-vf", "settb=1/1000,setpts='if(lt(N,25),N*40,1000+(N-25)*100)'",
                "-fps_mode", "passthrough", "-enc_time_base:v", "1:1000", "-c:v", "libx264", "-pix_fmt", "yuv420p"],
    "odd.mp4": [*PICTURE, "-t", "0.4", "-vf", "scale=321:241", "-c:v", "libx264", "-pix_fmt", "yuv444p"],
}


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    require_ffmpeg()
    folder = tmp_path_factory.mktemp("clips")
    return lambda name: make(folder, name, *CLIPS[name])


@pytest.mark.parametrize("name,codec", [("h264.mp4", "h264"), ("prores.mov", "prores"), ("hevc.mkv", "hevc"),
                                        ("hap.mov", "hap")])
def test_each_codec_decodes_every_frame_at_its_time(clip, name, codec):
    path = clip(name)
    info = probe_media(path)
    assert stream(path)["codec_name"] == info.video_codec == codec
    assert (info.width, info.height, info.fps) == (320, 240, 25.0)
    assert info.duration_s == pytest.approx(2.0, abs=0.01)
    assert info.frame_count == 50  # stated by MP4/MOV, estimated from the duration in Matroska
    assert info.frame_count_exact == (not name.endswith(".mkv"))
    frames = list(iter_frames(path))
    assert [f.index for f in frames] == list(range(50))
    assert [f.t for f in frames] == pytest.approx(frame_times(path), abs=1e-6)
    assert [f.t for f in frames] == pytest.approx([k / 25 for k in range(50)], abs=1e-3)
    assert all(f.rgb.shape == (240, 320, 3) and f.rgb.dtype == np.uint8 for f in frames)
    # the pictures are the ones ffmpeg shows (another FFmpeg build, so a level or two apart), and they move
    theirs = decode_rgb(path, 320, 240, frames=3)
    for ours, ref in zip(frames, theirs):
        assert np.abs(ours.rgb.astype(int) - ref).mean() < 2.0
    assert np.abs(frames[0].rgb.astype(int) - frames[2].rgb).mean() > 5


def test_the_sound_stream_is_described(clip):
    for name in ("h264.mp4", "prores.mov", "hevc.mkv"):
        info, theirs = probe_media(clip(name)), stream(clip(name), "a")
        assert info.has_audio and info.audio_codec == theirs["codec_name"]
        assert (info.audio_rate, info.audio_channels) == (int(theirs["sample_rate"]), theirs["channels"])
        assert info.audio_duration_s == pytest.approx(2.0, abs=0.02)
    assert not probe_media(clip("hap.mov")).has_audio


def test_variable_frame_rate_keeps_the_files_timing(clip):
    path = clip("vfr.mkv")
    theirs = frame_times(path)
    assert len(theirs) == 35 and theirs[-1] == pytest.approx(1.9)  # the file really is variable-rate
    frames = list(iter_frames(path))
    times = [f.t for f in frames]
    assert times == pytest.approx(theirs, abs=1e-6)
    steps = np.diff(times)
    assert steps[:24] == pytest.approx([0.04] * 24) and steps[25:] == pytest.approx([0.1] * 9)


def test_odd_sizes_and_rotation_metadata_come_out_as_displayed(clip, tmp_path):
    frames = list(iter_frames(clip("odd.mp4")))
    assert len(frames) == 10 and frames[0].rgb.shape == (241, 321, 3)
    assert np.abs(frames[0].rgb.astype(int) - decode_rgb(clip("odd.mp4"), 321, 241)[0]).mean() < 2.0
    # a clip marked "rotate 90" (as phones write it): shown upright, as ffmpeg shows it
    turned = make(tmp_path, "turned.mp4", "-i", clip("h264.mp4"), "-c", "copy", "-metadata:s:v:0", "rotate=90")
    info = probe_media(turned)
    assert (info.width, info.height, info.rotation) == (240, 320, 90)
    first = next(iter_frames(turned))
    assert first.rgb.shape == (320, 240, 3) and first.rgb.flags.c_contiguous
    assert np.abs(first.rgb.astype(int) - decode_rgb(turned, 240, 320)[0]).mean() < 2.0


@pytest.mark.parametrize("name", ["h264.mp4", "prores.mov", "hevc.mkv"])
def test_read_audio_resamples_the_whole_tone(clip, name):
    samples, start = read_audio(clip(name), rate=48000, channels=2)
    assert samples.dtype == np.float32 and samples.shape[1] == 2
    assert len(samples) / 48000 == pytest.approx(2.0, abs=0.01)  # the encoder's padding is not kept
    assert abs(start) < 0.01
    spectrum = np.abs(np.fft.rfft(samples[:, 0]))
    assert np.argmax(spectrum) * 48000 / len(samples) == pytest.approx(440, abs=1)
    assert np.array_equal(samples[:, 0], samples[:, 1])  # mono spread to both channels
    mono, _ = read_audio(clip(name), rate=22050, channels=1)
    assert mono.shape[1] == 1 and len(mono) / 22050 == pytest.approx(2.0, abs=0.01)


@pytest.mark.parametrize("ext,codec", [("mkv", "aac"), ("mp4", "aac"), ("mov", "pcm_s16le"), ("mkv", "libopus")])
def test_sound_that_starts_late_keeps_its_place_against_the_pictures(tmp_path, ext, codec):
    require_ffmpeg()
    # the tone starts 0.5 s after the first picture (and the encoder's own delay is the reader's to undo)
    path = make(tmp_path, f"late.{ext}", *PICTURE, "-itsoffset", "0.5", "-f", "lavfi", "-i",
                "sine=frequency=1000:sample_rate=44100", "-t", "2", "-c:v", "libx264", "-c:a", codec)
    samples, start = read_audio(path)
    onset = start + np.argmax(np.abs(samples[:, 0]) > 0.05) / 48000
    # within a quarter of a 25 fps frame (Opus in Matroska lands 6 ms early through FFmpeg's own handling)
    assert onset == pytest.approx(0.5, abs=0.01)
    if codec != "libopus":
        assert onset == pytest.approx(0.5, abs=0.002)
    blocks = list(iter_audio(path))  # the streaming form: the same samples, each block stamped where it starts
    assert blocks[0].t == start
    for a, b in zip(blocks, blocks[1:]):
        assert b.t == pytest.approx(a.t + len(a.samples) / 48000, abs=1e-9)
    assert np.array_equal(np.concatenate([b.samples for b in blocks]), samples)


def test_a_hole_in_the_sound_stays_a_hole(tmp_path):
    require_ffmpeg()
    # the tone's timestamps jump 0.5 s after its first second: players keep that silence, and so does the reader
    path = make(tmp_path, "hole.mkv", *PICTURE, "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000", "-t", "2",
                "-af", "asetpts='PTS+if(gte(T,1),0.5/TB,0)'", "-c:v", "libx264", "-c:a", "pcm_s16le")
    samples, start = read_audio(path)
    assert start == 0.0 and len(samples) / 48000 == pytest.approx(2.0, abs=0.01)
    loud = np.array([np.abs(samples[i:i + 480, 0]).max() > 0.05 for i in range(0, len(samples), 480)])  # 10 ms each
    quiet = np.nonzero(~loud)[0] / 100
    assert quiet[0] == pytest.approx(1.0, abs=0.02) and quiet[-1] == pytest.approx(1.49, abs=0.02)
    assert len(quiet) == pytest.approx(49, abs=2)


def test_files_probe_and_iter_video_read_through_pyav(clip):
    info = probe(clip("prores.mov"))
    assert (info.kind, info.width, info.height, info.fps, info.frame_count) == ("video", 320, 240, 25.0, 50)
    assert (info.video_codec, info.has_audio, info.audio_codec) == ("prores", True, "pcm_s16le")
    frames = list(iter_video(clip("hap.mov")))
    assert len(frames) == 50 and frames[0].shape == (240, 320, 3)


def test_bad_files_are_one_line_that_says_what_to_do(tmp_path, clip):
    def error(call, *args):
        with pytest.raises(MediaError) as e:
            call(*args)
        assert "\n" not in str(e.value)
        return str(e.value)

    assert "not found" in error(probe_media, tmp_path / "nope.mp4") and "check the path" in error(
        probe_media, tmp_path / "nope.mp4")
    assert "not a file" in error(probe_media, tmp_path)
    noise = tmp_path / "noise.mp4"
    noise.write_bytes(np.random.default_rng(1).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    assert "damaged" in error(probe_media, noise) and "re-encoding" in error(probe_media, noise)
    assert "cannot read video" in error(probe, noise)  # what `dreamdeck render` says
    cut = tmp_path / "cut.mp4"  # a recording that stopped before its index was written
    cut.write_bytes(clip("h264.mp4").read_bytes()[:20000])
    assert "damaged" in error(probe_media, cut)
    sound_only = make(tmp_path, "tone.wav", *TONE, "-t", "0.2")
    assert "no pictures" in error(probe_media, sound_only)
    assert "no sound" in error(read_audio, clip("hap.mov"))


def test_the_reader_closes_and_reads_nothing_more(clip):
    reader = VideoReader(clip("h264.mp4"))
    assert reader.read().index == 0 and reader.read().index == 1
    reader.close()
    reader.close()
    assert reader.read() is None
