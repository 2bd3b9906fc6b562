"""numpy arrays in and out of PyAV frames, without PyAV's buffer protocol.

On Python 3.11 every use of PyAV 18's buffer protocol (``VideoFrame.from_ndarray``,
``to_ndarray``, ``np.frombuffer(plane)``, ``bytes(plane)``) takes a reference to ``None`` and never
gives it back: ``sys.getrefcount(None)`` climbs by one per frame, 30 a second for a night, which
is what DreamDeck's soak watches for (None is immortal from Python 3.12, where this is harmless).
Here pixels and samples go in through ``plane.update`` and come out through ``ctypes`` views of the
plane's memory (``buffer_ptr``), copied at once, which take nothing from ``None``.
"""

from __future__ import annotations

import ctypes

import av
import numpy as np


def _plane_bytes(plane, size: int) -> np.ndarray:
    """A copy of the first ``size`` bytes of a frame's plane (the frame must be alive while this runs)."""
    view = (ctypes.c_ubyte * size).from_address(plane.buffer_ptr)
    return np.ctypeslib.as_array(view).copy()


def rgb_frame(rgb: np.ndarray) -> av.VideoFrame:
    """An rgb24 VideoFrame holding ``rgb`` (HxWx3 uint8)."""
    h, w = rgb.shape[:2]
    frame = av.VideoFrame(w, h, "rgb24")
    plane = frame.planes[0]
    row = w * 3
    if plane.line_size == row:
        plane.update(np.ascontiguousarray(rgb, dtype=np.uint8))
    else:  # rows padded for alignment: lay the pixels out the way the plane keeps them
        padded = np.zeros((h, plane.line_size), np.uint8)
        padded[:, :row] = np.asarray(rgb, np.uint8).reshape(h, row)
        plane.update(padded)
    return frame


def frame_rgb(frame: av.VideoFrame) -> np.ndarray:
    """The picture of a decoded frame as HxWx3 uint8 RGB (converted from the frame's own format)."""
    rgb = frame if frame.format.name == "rgb24" else frame.reformat(format="rgb24")
    plane = rgb.planes[0]
    h, w, line = rgb.height, rgb.width, plane.line_size
    raw = _plane_bytes(plane, line * h).reshape(h, line)
    return np.ascontiguousarray(raw[:, : w * 3]).reshape(h, w, 3)


def packed_samples(frame: av.AudioFrame, channels: int) -> np.ndarray:
    """The samples of a packed float32 ('flt') audio frame as float32 (n, channels)."""
    if frame.format.name != "flt":
        raise ValueError(f"packed_samples reads 'flt' frames, not {frame.format.name!r}")
    n = frame.samples
    raw = _plane_bytes(frame.planes[0], n * channels * 4)
    return raw.view(np.float32).reshape(n, channels)


def packet_bytes(packet: av.Packet) -> bytes:
    """A copy of an encoded packet's data (``bytes(packet)`` goes through the buffer protocol)."""
    return ctypes.string_at(packet.buffer_ptr, packet.size)
