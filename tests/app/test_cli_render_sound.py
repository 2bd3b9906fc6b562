"""`dreamdeck render` keeps a video's sound (issue 17): clips with a 1 kHz tone made by the system's ffmpeg,
rendered with the built-in tiny model through the command line, checked with ffprobe (codec, bit rate,
duration) and decoded with PyAV (pitch, where the tone starts and ends against the pictures)."""

from __future__ import annotations

from app.cli import main
from media_clips import ffmpeg, ffprobe, require_ffmpeg, stream
from tone_check import tone

FPS = 25
FRAME = 1 / FPS
SECONDS = 1.2  # 30 frames: the tiny model paints about 3-10 a second on a laptop CPU
FAST = ["--model", "tiny", "--size", "64", "--steps", "1", "--prompt", "neon"]


def clip(path, *, seconds=SECONDS, sound_late=0.0, audio=("-c:a", "aac", "-b:a", "96k"),
         video=("-c:v", "libx264", "-pix_fmt", "yuv420p")):
    """``seconds`` of the test picture, 320x240 at 25 fps, with a 1 kHz tone from ``sound_late`` to the end."""
    require_ffmpeg()
    tone_s = seconds - sound_late
    snd = (["-itsoffset", str(sound_late)] if sound_late else []) + ["-f", "lavfi", "-i", f"sine=frequency=1000:sample_rate=48000:duration={tone_s}"]
    ffmpeg("-f", "lavfi", "-i", f"testsrc2=size=320x240:rate={FPS}:duration={seconds}", *snd, *video, *audio, path)
    return path


def packets(path) -> list[str]:
    """The sound's packets, as ffprobe reads them (a checksum each): equal lists mean the sound was copied."""
    return [p["data_hash"] for p in ffprobe(path, "-select_streams", "a", "-show_packets", "-show_data_hash", "md5")["packets"]]


def render(capsys, *args) -> str:
    assert main(["render", *args, *FAST]) == 0
    return capsys.readouterr().out


def frames(path) -> int:
    return int(ffprobe(path, "-count_packets", "-select_streams", "v:0", "-show_streams")["streams"][0]["nb_read_packets"])


def check_tone(src, out, onset: float):
    before, after = tone(src), tone(out)
    assert abs(before.onset - onset) < 0.005  # the clip is what the test says
    assert abs(after.pitch - 1000) < 3, after
    assert abs(after.onset - onset) < FRAME, (before, after)
    assert abs(after.offset - before.offset) < FRAME, (before, after)
    assert abs((after.offset - after.onset) - (before.offset - before.onset)) < FRAME


def test_aac_sound_is_copied_in_place(tmp_path, capsys):
    src, out = clip(tmp_path / "in.mp4"), tmp_path / "out.mp4"
    said = render(capsys, "-i", str(src), "-o", str(out))
    assert f"wrote {round(SECONDS * FPS)} frames" in said and "sound copied (aac)" in said
    a, a0 = stream(out, "a"), stream(src, "a")
    assert a["codec_name"] == "aac" and a["bit_rate"] == a0["bit_rate"]
    assert packets(out) == packets(src)  # the same packets, not a new encoding
    assert abs(float(a["duration"]) - float(a0["duration"])) < FRAME
    assert frames(out) == round(SECONDS * FPS)
    check_tone(src, out, 0.0)


def test_pcm_sound_that_starts_late_is_re_encoded_in_place(tmp_path, capsys):
    """PCM in .mov, its sound 0.2 s after the first picture; no --output: the render is an .mp4, which cannot
    hold PCM, so the sound becomes AAC, still 0.2 s after the first picture."""
    src = clip(tmp_path / "late.mov", sound_late=0.2, audio=("-c:a", "pcm_s16le"), video=("-c:v", "mjpeg"))
    said = render(capsys, "-i", str(src))
    out = tmp_path / "late-dreamdeck.mp4"
    assert "sound re-encoded (pcm_s16le to aac)" in said
    assert stream(out, "a")["codec_name"] == "aac"
    check_tone(src, out, 0.2)


def test_mp3_sound_in_matroska_is_copied_into_mp4(tmp_path, capsys):
    src = clip(tmp_path / "in.mkv", audio=("-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100"))
    out = tmp_path / "out.mp4"
    said = render(capsys, "-i", str(src), "-o", str(out))
    assert "sound copied (mp3)" in said
    a = stream(out, "a")
    assert a["codec_name"] == "mp3" and a["sample_rate"] == "44100"
    assert abs(int(a["bit_rate"]) - 128000) < 128  # MP4 states the rate it measures: 127971
    assert packets(out) == packets(src)
    check_tone(src, out, 0.0)


def test_codec_flag_and_no_audio(tmp_path, capsys):
    """--codec reaches the writer (and names the default output: ProRes goes into .mov); --no-audio leaves the
    sound out."""
    src = clip(tmp_path / "in.mp4", seconds=0.4)
    said = render(capsys, "-i", str(src), "--codec", "prores", "--no-audio")
    out = tmp_path / "in-dreamdeck.mov"
    assert "in ProRes 422 HQ, sound dropped (--no-audio)" in said
    assert stream(out, "v")["codec_name"] == "prores"
    assert not ffprobe(out, "-show_streams", "-select_streams", "a")["streams"]
    assert frames(out) == 10
