"""HAP frames made by engine.media.hap, muxed by PyAV into .mov files, checked by ffprobe
(the independent reader) and decoded back by PyAV's FFmpeg HAP decoder."""

import json
import shutil
import subprocess
from fractions import Fraction

import av
import cramjam
import numpy as np
import pytest
from skimage import data as pictures
from skimage.transform import resize

from engine.media.errors import MediaError
from engine.media.hap import VARIANTS, HapTrack, encode_hap_frame, section_header
from engine.media.test_pattern import pattern_frame
from tests.system_deps import skip_unless_required

FRAG = "frag_keyframe+empty_moov+default_base_moof"


@pytest.fixture(autouse=True)
def _ffprobe():
    if shutil.which("ffprobe") is None:
        skip_unless_required("ffprobe is not installed (apt install ffmpeg)")


def ffprobe(path) -> list[dict]:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-count_frames", "-of", "json", str(path)],
        capture_output=True, text=True, check=True,
    )
    assert out.stderr == "", out.stderr
    return json.loads(out.stdout)["streams"]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return 10 * np.log10(255**2 / mse)


def with_alpha(rgb: np.ndarray) -> np.ndarray:
    """RGBA: a horizontal alpha ramp (fully transparent at the left edge, opaque at the right)
    under an opaque square whose edges cut through the 4x4 blocks."""
    h, w = rgb.shape[:2]
    alpha = np.tile(np.clip(np.linspace(-40, 255, w), 0, 255).astype(np.uint8), (h, 1))
    alpha[37:141, 101:203] = 255
    return np.dstack([rgb, alpha])


def photo(w: int, h: int) -> np.ndarray:
    return (resize(pictures.astronaut(), (h, w), anti_aliasing=True) * 255).round().astype(np.uint8)


def write(path, variant, frames, fps=24, options=None, audio=False):
    with av.open(str(path), "w", options=options or {}) as out:
        h, w = frames[0].shape[:2]
        track = HapTrack(out, variant, w, h, fps)
        sound = out.add_stream("pcm_s16le", rate=48000, layout="stereo") if audio else None
        samples = 48000 // fps
        for i, frame in enumerate(frames):
            track.encode(frame, i)
            if sound is not None:
                t = (np.arange(samples) + i * samples) / 48000
                tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
                chunk = av.AudioFrame.from_ndarray(np.stack([tone, tone]).reshape(1, -1), format="flt", layout="stereo")
                chunk.sample_rate, chunk.pts, chunk.time_base = 48000, i * samples, Fraction(1, 48000)
                for packet in sound.encode(chunk):
                    out.mux(packet)
        if sound is not None:
            for packet in sound.encode(None):
                out.mux(packet)
        track.flush()


def decode(path, fmt="rgb24") -> list[np.ndarray]:
    with av.open(str(path)) as f:
        return [frame.to_ndarray(format=fmt) for frame in f.decode(video=0)]


def decode_until_damage(path) -> list[np.ndarray]:
    """The frames of a file cut short (as a crash leaves it), up to its first broken packet."""
    frames = []
    with av.open(str(path)) as f:
        try:
            for packet in f.demux(video=0):
                frames += [frame.to_ndarray(format="rgb24") for frame in packet.decode()]
        except av.error.InvalidDataError:
            pass
    return frames


@pytest.mark.parametrize(("variant", "fourcc"), [(v, f) for v, (f, _, _) in VARIANTS.items()])
def test_each_variant_is_hap_to_ffprobe_and_decodes_back_close_to_the_pictures(variant, fourcc, tmp_path):
    w, h, n, fps = 318, 178, 12, 24  # neither side a multiple of 4
    frames = [pattern_frame(i / fps, w, h) for i in range(n)]
    if variant == "hap_alpha":
        frames = [with_alpha(f) for f in frames]
    path = tmp_path / f"{variant}.mov"
    write(path, variant, frames, fps)

    (video,) = ffprobe(path)
    assert (video["codec_name"], video["codec_tag_string"]) == ("hap", fourcc)
    assert (video["width"], video["height"]) == (w, h)
    assert int(video["nb_read_frames"]) == n
    assert float(video["duration"]) == pytest.approx(n / fps, abs=1e-3)

    back = decode(path, "rgba" if variant == "hap_alpha" else "rgb24")
    assert len(back) == n
    scores = [psnr(b[..., :3], f[..., :3]) for b, f in zip(back, frames)]
    assert min(scores) > 31, scores  # measured about 34 dB for each variant at this size
    if variant == "hap_alpha":
        alpha = np.stack([b[..., 3] for b in back])
        wanted = np.stack([f[..., 3] for f in frames])
        assert np.abs(alpha.astype(int) - wanted).max() <= 6  # measured 3 (55 dB)
        assert (alpha[:, :, :8] == 0).all() and (alpha[:, :, -1] == 255).all() and (alpha[:, 37:141, 101:203] == 255).all()


def test_hap_q_keeps_more_of_a_photo_than_hap(tmp_path):
    picture = photo(320, 180)
    scores = {}
    for variant in ("hap", "hap_q"):
        write(tmp_path / f"{variant}.mov", variant, [picture])
        scores[variant] = psnr(decode(tmp_path / f"{variant}.mov")[0], picture)
    assert scores["hap"] > 27 and scores["hap_q"] > scores["hap"] + 3, scores  # measured 28.6 and 34.8 dB


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_a_frame_is_one_section_snappy_only_when_smaller(variant):
    w, h = 64, 32
    flat = np.full((h, w, 4 if variant == "hap_alpha" else 3), 90, np.uint8)
    noise = np.random.default_rng(7).integers(0, 256, flat.shape, dtype=np.uint8)
    texture_size = w * h // (2 if variant == "hap" else 1)
    kind = VARIANTS[variant][1]
    for picture, second_stage in ((flat, 0xB0), (noise, 0xA0)):
        frame = encode_hap_frame(picture, variant)
        size, section = int.from_bytes(frame[:3], "little"), frame[3]
        assert size == len(frame) - 4
        assert section == second_stage | kind
        body = frame[4:]
        if second_stage == 0xB0:
            body = bytes(cramjam.snappy.decompress_raw(body))
        assert len(body) == texture_size


def test_small_and_large_sections_use_the_short_and_long_header():
    assert section_header(5, 0xAB) == b"\x05\x00\x00\xab"
    assert section_header((1 << 24) - 1, 0xBE) == b"\xff\xff\xff\xbe"
    assert section_header(1 << 24, 0xAE) == b"\x00\x00\x00\xae" + (1 << 24).to_bytes(4, "little")


def test_a_frame_too_large_for_the_short_header_still_decodes(tmp_path):
    w = h = 4096  # a DXT5 texture of 16 MiB = 2**24 bytes; noise does not shrink with Snappy
    picture = np.random.default_rng(1).integers(0, 256, (h, w, 4), dtype=np.uint8)
    frame = encode_hap_frame(picture, "hap_alpha")
    assert frame[:4] == b"\x00\x00\x00\xae" and int.from_bytes(frame[4:8], "little") == len(frame) - 8
    path = tmp_path / "big.mov"
    write(path, "hap_alpha", [picture])
    (back,) = decode(path, "rgba")
    assert back.shape == (h, w, 4)
    assert psnr(back[..., 3], picture[..., 3]) > 20  # noise is the worst case for DXT5


@pytest.mark.parametrize("options", [{}, {"movflags": "+faststart"}])
def test_hap_interleaves_with_pcm_audio(options, tmp_path):
    n, fps = 48, 24
    path = tmp_path / "with_sound.mov"
    write(path, "hap", [pattern_frame(i / fps, 320, 180) for i in range(n)], fps, options, audio=True)
    video, sound = ffprobe(path)
    assert video["codec_name"] == "hap" and int(video["nb_read_frames"]) == n
    assert sound["codec_name"] == "pcm_s16le" and sound["sample_rate"] == "48000"
    assert float(video["duration"]) == pytest.approx(2.0, abs=1e-3)
    assert float(sound["duration"]) == pytest.approx(2.0, abs=1e-3)
    assert len(decode(path)) == n


@pytest.mark.parametrize(
    "options",
    [
        {"movflags": FRAG},
        {"movflags": FRAG, "frag_duration": "500000"},
        {"movflags": "empty_moov+default_base_moof", "frag_duration": "500000", "flush_packets": "1"},
    ],
)
def test_fragmented_files_play_whole_and_before_they_are_closed(options, tmp_path):
    n, fps = 48, 24
    path, early = tmp_path / "frag.mov", tmp_path / "copied_before_close.mov"
    frames = [pattern_frame(i / fps, 160, 96) for i in range(n)]
    with av.open(str(path), "w", options=options) as out:
        track = HapTrack(out, "hap_q", 160, 96, fps)
        for i, frame in enumerate(frames):
            track.encode(frame, i)
        shutil.copyfile(path, early)  # what a crash would leave behind
    (video,) = ffprobe(path)
    assert (video["codec_name"], video["codec_tag_string"]) == ("hap", "HapY")
    assert int(video["nb_read_frames"]) == n
    assert float(video["duration"]) == pytest.approx(2.0, abs=1e-3)
    survived = decode_until_damage(early)
    assert n // 2 <= len(survived) < n  # all but what was still buffered (43 of 48 measured)
    assert min(psnr(a, b) for a, b in zip(survived, frames)) > 30


def test_mistakes_are_one_line(tmp_path):
    with pytest.raises(MediaError, match="unknown HAP variant 'hap_r'"):
        encode_hap_frame(np.zeros((8, 8, 3), np.uint8), "hap_r")
    with pytest.raises(MediaError, match="uint8"):
        encode_hap_frame(np.zeros((8, 8, 3), np.float32), "hap")
    with av.open(str(tmp_path / "clip.mp4"), "w") as out:
        with pytest.raises(MediaError, match=r"\.mov"):
            HapTrack(out, "hap", 64, 64, 30)
    with av.open(str(tmp_path / "clip.mov"), "w") as out:
        track = HapTrack(out, "hap", 64, 64, 30)
        with pytest.raises(MediaError, match="64x64"):
            track.encode(np.zeros((32, 64, 3), np.uint8), 0)
