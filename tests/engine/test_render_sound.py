"""A render's sound (engine.render.write_render, the part of render_file after the model): the input's own
pictures go through unchanged, so these run in a fraction of a second; tests/app/test_cli_render_sound.py
renders with the tiny model through the command line.  Clips are made by the system's ffmpeg, checked by
ffprobe and decoded by PyAV (tests/tone_check.py)."""

from __future__ import annotations

import pytest

from engine.media.files import iter_video, probe
from engine.render import write_render
from media_clips import ffmpeg, ffprobe, require_ffmpeg, stream
from tone_check import tone

FPS = 25
FRAME = 1 / FPS


def clip(path, *, seconds=2.0, tone_s=2.0, sound_late=0.0, picture_late=0.0, audio=("-c:a", "pcm_s16le"), video=("-c:v", "mjpeg")):
    """A clip of ``seconds`` of the test picture at 25 fps and a 1 kHz tone of ``tone_s``; ``sound_late`` starts
    the sound that much after the first picture (its stream starts later), ``picture_late`` the pictures."""
    require_ffmpeg()
    pic = (["-itsoffset", str(picture_late)] if picture_late else []) + ["-f", "lavfi", "-i", f"testsrc2=size=64x48:rate={FPS}:duration={seconds}"]
    snd = (["-itsoffset", str(sound_late)] if sound_late else []) + ["-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:duration={tone_s}"]
    ffmpeg(*pic, *snd, *video, *audio, path)
    return path


def render(src, dst, **kw):
    """What render_file does once the model has painted: here the pictures pass through as they are."""
    return write_render(iter_video(src), probe(src), src, dst, **kw)


def test_sound_that_starts_late_is_padded_when_re_encoded(tmp_path):
    src = clip(tmp_path / "late.mov", seconds=2.4, sound_late=0.2)  # PCM, which MP4 cannot hold: re-encoded
    result = render(src, tmp_path / "out.mp4")
    assert (result.sound.action, result.sound.source_codec, result.sound.output_codec) == ("re-encoded", "pcm_s16le", "aac")
    assert stream(tmp_path / "out.mp4", "a")["codec_name"] == "aac"
    before, after = tone(src), tone(tmp_path / "out.mp4")
    assert abs(before.onset - 0.2) < 0.005  # the clip is what the test says
    assert abs(after.onset - 0.2) < FRAME and abs(after.offset - 2.2) < FRAME
    assert abs((after.offset - after.onset) - 2.0) < FRAME
    assert abs(after.pitch - 1000) < 3
    assert abs(after.start) < 0.001  # the track starts with the pictures, with silence until the tone


def test_sound_that_starts_late_keeps_its_start_when_copied(tmp_path):
    src = clip(tmp_path / "late.mov", seconds=2.4, sound_late=0.2)
    out = tmp_path / "out.mov"  # ProRes with PCM beside it: copied
    assert render(src, out).sound.action == "copied"
    a = stream(out, "a")
    assert a["codec_name"] == "pcm_s16le" and abs(float(a["start_time"]) - 0.2) < 0.001
    after = tone(out)
    assert abs(after.onset - 0.2) < FRAME and abs(after.offset - 2.2) < FRAME


def test_sound_that_starts_before_the_pictures(tmp_path):
    """Sound 0.2 s ahead of the first picture: copied into Matroska it stays ahead (the muxer moves both
    tracks together); re-encoded for MP4 the part before the first picture is left out, the rest in place."""
    src = clip(tmp_path / "early.mkv", picture_late=0.2)
    before = tone(src)
    assert abs(before.onset + 0.2) < 0.005 and abs(before.offset - 1.8) < 0.005
    assert render(src, tmp_path / "out.mkv").sound.action == "copied"
    kept = tone(tmp_path / "out.mkv")
    assert abs(kept.onset + 0.2) < FRAME and abs(kept.offset - 1.8) < FRAME
    assert render(src, tmp_path / "out.mp4").sound.action == "re-encoded"
    cut = tone(tmp_path / "out.mp4")
    assert abs(cut.onset) < FRAME and abs(cut.offset - 1.8) < FRAME


def test_copied_sound_is_the_input_bit_for_bit(tmp_path):
    src = clip(tmp_path / "in.mp4", audio=("-c:a", "aac", "-b:a", "96k"), video=("-c:v", "libx264", "-pix_fmt", "yuv420p"))
    out = tmp_path / "out.mkv"
    assert render(src, out).sound.action == "copied"

    def packets(path):
        return [p["data_hash"] for p in ffprobe(path, "-select_streams", "a", "-show_packets", "-show_data_hash", "md5")["packets"]]

    assert packets(out) == packets(src)


def test_no_sound_and_sound_left_out(tmp_path):
    silent = tmp_path / "silent.mp4"
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=64x48:rate={FPS}:duration=1", "-c:v", "libx264", silent)
    assert render(silent, tmp_path / "a.mp4").sound.action == "none"
    assert not ffprobe(tmp_path / "a.mp4", "-show_streams", "-select_streams", "a")["streams"]
    src = clip(tmp_path / "in.mov", seconds=1.0, tone_s=1.0)
    result = render(src, tmp_path / "b.mp4", sound=False)
    assert result.sound.action == "dropped" and result.frames == FPS
    assert not ffprobe(tmp_path / "b.mp4", "-show_streams", "-select_streams", "a")["streams"]


@pytest.mark.parametrize("audio,out", [(("-c:a", "aac"), "out.mp4"), (("-c:a", "pcm_s16le"), "out.mp4")],
                         ids=["copied", "re-encoded"])
def test_sound_is_written_alongside_the_pictures(tmp_path, audio, out):
    """Over 14 s (longer than the muxer's 10 s interleaving window) the sound sits in the file next to the
    pictures of its time: written as the frames go, not all at the end."""
    src = clip(tmp_path / "long.mkv", seconds=14, tone_s=14, audio=audio)
    render(src, tmp_path / out)
    found = ffprobe(tmp_path / out, "-show_packets", "-show_entries", "packet=codec_type,pts_time,pos")["packets"]
    order = sorted((int(p["pos"]), p["codec_type"], float(p["pts_time"])) for p in found if p.get("pos") not in (None, "N/A"))
    last_video, worst = None, 0.0
    for _, kind, t in order:
        if kind == "video":
            last_video = t
        elif last_video is not None:
            worst = max(worst, abs(t - last_video))
    assert sum(kind == "audio" for _, kind, _ in order) > 100
    assert worst < 1.5, f"sound sits {worst:.1f} s away from the pictures around it"
