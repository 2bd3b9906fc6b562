"""HAP video frames (Hap, Hap Alpha, Hap Q) and a track that muxes them with PyAV.

PyAV's FFmpeg can decode HAP but has no HAP encoder, so this module makes the frames
itself, following the public HAP specification (Vidvox/hap, HapVideoDRAFT.md):

- the picture (padded to a multiple of 4 by repeating its last row/column) is
  compressed to a GPU texture: DXT1/BC1 for Hap ('Hap1'), DXT5/BC3 for Hap Alpha
  ('Hap5'), scaled YCoCg in DXT5 for Hap Q ('HapY'). Colour blocks come from Pillow's
  BCn encoder (Pillow >= 11.2); DXT5's alpha blocks (Hap Q keeps its luma there) from
  this module's min/max encoder, 4-8 dB better than Pillow's;
- the texture is compressed again with Snappy (``cramjam``) when that makes it smaller;
- one section header (3-byte little-endian size + type byte, or the 8-byte form for
  sizes that do not fit 24 bits) goes in front.

``HapTrack`` adds a HAP video stream to an open PyAV output container (``.mov``) and
muxes one packet per frame. PyAV 18's ``add_mux_stream('hap')`` makes a HAP stream
without an encoder but cannot set its four-character code (the QuickTime muxer then
writes 'Hap1' for every variant), so the stream is copied instead from a template --
a one-frame HAP movie written and opened in memory -- whose codec context takes the
right code ('Hap5', 'HapY') and depth.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av
import cramjam
import numpy as np
from PIL import Image

from engine.media.errors import MediaError

# variant -> (four-character code, texture type nibble, bits per coded sample)
VARIANTS: dict[str, tuple[str, int, int]] = {
    "hap": ("Hap1", 0x0B, 24),  # RGB DXT1/BC1
    "hap_alpha": ("Hap5", 0x0E, 32),  # RGBA DXT5/BC3
    "hap_q": ("HapY", 0x0F, 24),  # scaled YCoCg DXT5/BC3
}
_UNCOMPRESSED = 0xA0
_SNAPPY = 0xB0


def _check_variant(variant: str) -> None:
    if variant not in VARIANTS:
        raise MediaError(f"unknown HAP variant {variant!r}: use one of {', '.join(VARIANTS)}")


def _pad_to_blocks(image: np.ndarray) -> np.ndarray:
    """The picture grown to multiples of 4 by repeating its last row and column."""
    h, w = image.shape[:2]
    ph, pw = -h % 4, -w % 4
    if ph or pw:
        image = np.pad(image, ((0, ph), (0, pw), (0, 0)), mode="edge")
    return image


def _block_max(x: np.ndarray) -> np.ndarray:
    """(H, W) -> (H/4, W/4): the largest value of each 4x4 block."""
    m = np.maximum(np.maximum(x[0::4], x[1::4]), np.maximum(x[2::4], x[3::4]))
    return np.maximum(np.maximum(m[:, 0::4], m[:, 1::4]), np.maximum(m[:, 2::4], m[:, 3::4]))


def _block_min(x: np.ndarray) -> np.ndarray:
    """(H, W) -> (H/4, W/4): the smallest value of each 4x4 block."""
    m = np.minimum(np.minimum(x[0::4], x[1::4]), np.minimum(x[2::4], x[3::4]))
    return np.minimum(np.minimum(m[:, 0::4], m[:, 1::4]), np.minimum(m[:, 2::4], m[:, 3::4]))


def scaled_ycocg(rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """RGB (HxWx3, H and W multiples of 4) as Hap Q's scaled YCoCg: (HxWx3 CoCg+scale, HxW Y).

    Texel R = Co * s + 128, G = Cg * s + 128, B = (s - 1) << 3, A = Y, with the scale
    s in {1, 2, 4} chosen per 4x4 block as large as Co and Cg allow (van Waveren &
    Castano, "Real-Time YCoCg-DXT Compression", 2007). Decoders compute
    Co = (R - 128) / s, Cg = (G - 128) / s, then R = Y + Co - Cg, G = Y + Cg, B = Y - Co - Cg.
    """
    h, w = rgb.shape[:2]
    r = rgb[..., 0].astype(np.int16)
    g2 = rgb[..., 1].astype(np.int16) * 2
    b = rgb[..., 2].astype(np.int16)
    co2 = r - b  # 2 Co
    cg4 = g2 - r - b  # 4 Cg
    y = r + g2 + b  # 4 Y
    mag = _block_max(np.maximum(np.abs(co2) * 2, np.abs(cg4)))  # 4 max(|Co|, |Cg|) per block
    shift = (mag < 128).astype(np.int16) + (mag < 256)  # log2 s: |Co| s and |Cg| s stay under 128
    blocks = shift[:, None, :, None]
    chroma = np.empty((h, w, 3), np.uint8)
    c = chroma.reshape(h // 4, 4, w // 4, 4, 3)
    co = co2.reshape(c.shape[:4]) << blocks
    co += 257  # 128 after halving, plus rounding
    co >>= 1
    cg = cg4.reshape(c.shape[:4]) << blocks
    cg += 514
    cg >>= 2
    c[..., 0] = np.clip(co, 0, 255)
    c[..., 1] = np.clip(cg, 0, 255)
    c[..., 2] = ((1 << blocks) - 1) << 3
    y += 2
    y >>= 2
    return chroma, y.astype(np.uint8)


_INDEX_SHIFT = (3 * (4 * (np.arange(4) % 2)[:, None] + np.arange(4)[None, :])).astype(np.uint32)
_RAMP_TO_INDEX = np.array([0, 2, 3, 4, 5, 6, 7, 1], np.uint8)  # ramp step from a0 down to a1 -> DXT5 index


def alpha_blocks(alpha: np.ndarray) -> np.ndarray:
    """DXT5/BC3 alpha blocks (N x 8 bytes, row-major blocks) of an (H, W) uint8 plane.

    Each block spans its own minimum..maximum in eight steps (a0 = max > a1 = min);
    every texel takes the nearest step. Pillow's own DXT5 alpha is 4-8 dB worse, which
    matters for Hap Q, whose luma lives in this channel.
    """
    h, w = alpha.shape
    hb, wb = h // 4, w // 4
    hi, lo = _block_max(alpha), _block_min(alpha)
    steps = np.float32(7) / np.maximum(hi.astype(np.float32) - lo, np.float32(1))
    ramp = np.subtract(hi[:, None, :, None], alpha.reshape(hb, 4, wb, 4), dtype=np.float32)
    ramp *= steps[:, None, :, None]
    np.rint(ramp, out=ramp)
    index = _RAMP_TO_INDEX[ramp.astype(np.uint8)]
    halves = []
    for half in (0, 1):  # 24 bits each: texel rows 0-1, then rows 2-3, 3 bits per texel
        bits = np.zeros((hb, wb), np.uint32)
        for r in (0, 1):
            for c in range(4):
                bits |= index[:, 2 * half + r, :, c].astype(np.uint32) << _INDEX_SHIFT[r, c]
        halves.append(bits.ravel())
    out = np.empty((hb * wb, 8), np.uint8)
    out[:, 0], out[:, 1] = hi.ravel(), lo.ravel()
    for half, bits in enumerate(halves):
        for byte in range(3):
            out[:, 2 + 3 * half + byte] = bits >> (8 * byte)
    return out


def texture(image: np.ndarray, variant: str) -> tuple[bytes, int, int]:
    """The DXT texture of ``image`` for ``variant``, with its padded width and height."""
    _check_variant(variant)
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise MediaError(
            f"a HAP frame must be an HxWx3 (RGB) or HxWx4 (RGBA) uint8 array, not {image.dtype} {image.shape}"
        )
    padded = _pad_to_blocks(image)
    h, w = padded.shape[:2]
    if variant == "hap":
        return _bcn(padded[..., :3], 1), w, h
    if variant == "hap_alpha":
        colour = padded[..., :3]
        alpha = padded[..., 3] if padded.shape[2] == 4 else np.full((h, w), 255, np.uint8)
    else:
        colour, alpha = scaled_ycocg(padded[..., :3])
    # Pillow's colour blocks (from RGB it spends no time on alpha), then this module's alpha blocks
    blocks = np.frombuffer(_bcn(colour, 3), np.uint8).reshape(-1, 16).copy()
    blocks[:, :8] = alpha_blocks(np.ascontiguousarray(alpha))
    return blocks.tobytes(), w, h


def _bcn(pixels: np.ndarray, kind: int) -> bytes:
    """Pillow's block compressor: ``kind`` 1 = DXT1/BC1, 3 = DXT5/BC3 (sizes multiples of 4)."""
    try:
        return Image.fromarray(np.ascontiguousarray(pixels)).tobytes("bcn", kind)
    except (OSError, KeyError) as exc:  # Pillow < 11.2 has no BCn encoder
        raise MediaError(f"HAP needs Pillow 11.2 or newer to compress textures ({exc}): pip install -U pillow") from None


def section_header(size: int, section_type: int) -> bytes:
    """A HAP section header: 4 bytes, or 8 when ``size`` does not fit in 3 non-zero bytes."""
    if 0 < size < 1 << 24:
        return size.to_bytes(3, "little") + bytes([section_type])
    if size >= 1 << 32:
        raise MediaError(f"a HAP section of {size} bytes is too large (4 GiB at most): use a smaller picture")
    return b"\x00\x00\x00" + bytes([section_type]) + size.to_bytes(4, "little")


def encode_hap_frame(image: np.ndarray, variant: str) -> bytes:
    """One HAP frame (section header + texture, Snappy-compressed when that is smaller).

    ``image``: HxWx3 RGB uint8 (HxWx4 RGBA for ``hap_alpha``; an RGBA picture's alpha
    is dropped by the other variants); ``variant``: ``hap``, ``hap_alpha`` or ``hap_q``.
    """
    tex, _, _ = texture(image, variant)
    kind = VARIANTS[variant][1]
    packed = bytes(cramjam.snappy.compress_raw(tex))
    if len(packed) < len(tex):
        return section_header(len(packed), _SNAPPY | kind) + packed
    return section_header(len(tex), _UNCOMPRESSED | kind) + tex


def _template_stream(variant: str) -> tuple[av.container.InputContainer, av.VideoStream]:
    """An opened in-memory one-frame HAP movie and its video stream (a template for muxing)."""
    buf = io.BytesIO()
    with av.open(buf, "w", format="mov") as out:
        stream = out.add_mux_stream("hap", rate=1, width=4, height=4)
        stream.time_base = Fraction(1, 1)
        packet = av.Packet(encode_hap_frame(np.zeros((4, 4, 3), np.uint8), variant))
        packet.stream = stream
        packet.pts = packet.dts = 0
        packet.duration = 1
        packet.is_keyframe = True
        out.mux(packet)
    buf.seek(0)
    container = av.open(buf, "r", format="mov")
    return container, container.streams.video[0]


class HapTrack:
    """A HAP video track in an open PyAV output container (QuickTime ``.mov``).

    Add it before the first packet of any stream is muxed; then ``encode`` each frame
    with its frame index as ``pts``. Every HAP frame is a key frame, so the track
    interleaves with audio and works with fragmented output (``movflags=frag_keyframe``).
    """

    def __init__(self, container: av.container.OutputContainer, variant: str, width: int, height: int, fps) -> None:
        _check_variant(variant)
        if width <= 0 or height <= 0:
            raise MediaError(f"a HAP track needs a positive size, not {width}x{height}")
        if container.format.name != "mov":
            raise MediaError(f"HAP goes in a QuickTime .mov file, not {container.format.name!r}: save as .mov")
        self.variant = variant
        self.width, self.height = int(width), int(height)
        self.rate = Fraction(fps).limit_denominator(1001)
        self.frames = 0
        fourcc, _, depth = VARIANTS[variant]
        template_file, template = _template_stream(variant)
        try:
            self.stream = container.add_stream_from_template(template, opaque=True)
        finally:
            template_file.close()
        ctx = self.stream.codec_context
        ctx.width, ctx.height = self.width, self.height
        ctx.codec_tag = fourcc
        ctx.bits_per_coded_sample = depth
        ctx.framerate = self.rate
        self.time_base = 1 / self.rate  # of the pts given to encode(); the muxer may pick a finer one
        self.stream.time_base = self.time_base
        self.last: bytes | None = None  # the last frame's packet (repeat() muxes it again)

    def encode(self, image: np.ndarray, pts: int) -> None:
        """Compress ``image`` (the track's size) and mux it as frame number ``pts``."""
        h, w = image.shape[:2]
        if (w, h) != (self.width, self.height):
            raise MediaError(f"frame is {w}x{h} but the HAP track is {self.width}x{self.height}: resize it first")
        self.last = encode_hap_frame(image, self.variant)
        self._mux(self.last, pts)

    def repeat(self, pts: int) -> None:
        """The last frame again as frame number ``pts``: its packet muxed once more, nothing compressed."""
        if self.last is None:
            raise MediaError("no HAP frame to repeat yet")
        self._mux(self.last, pts)

    def _mux(self, data: bytes, pts: int) -> None:
        packet = av.Packet(data)
        packet.stream = self.stream
        packet.time_base = self.time_base
        packet.pts = packet.dts = int(pts)
        packet.duration = 1
        packet.is_keyframe = True
        self.stream.container.mux(packet)
        self.frames += 1

    def flush(self) -> None:
        """Nothing is buffered: each frame is muxed as it is encoded."""
