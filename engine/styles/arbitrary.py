"""Any painting as a style (Ghiasi et al. 2017): a 100-number style vector, then the transform network.

The predictor looks at a 256x256 centre square of the painting; the transform network
works on a fixed 384x384 canvas, so a frame is scaled to 384 on its long side, mirrored
out to the square, stylised, cropped back and scaled to the frame.  Vectors are cached per
file (path, size and modification time), so a fader move never re-reads a painting.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import cv2
import numpy as np

from ..media.files import MediaError, read_image
from .catalog import StyleError

STYLE_SIDE = 256  # the predictor's input
CANVAS = 384  # the transform network's fixed input
MAX_STYLE_BYTES = 64 * 1024 * 1024
VECTORS_KEPT = 32


class ArbitraryStyles:
    """The two arbitrary-style networks on ONNX Runtime sessions made by ``make_session(name)``."""

    def __init__(self, make_session):
        self._make = make_session
        self._predict = None
        self._transform = None
        self._vectors: OrderedDict[tuple, np.ndarray] = OrderedDict()  # the most recent paintings' vectors
        self._lock = threading.Lock()

    def _sessions(self):
        with self._lock:  # loaded on first use: most shows never take a painting as a style
            if self._predict is None:
                self._predict = self._make("arbitrary_predict")
                self._transform = self._make("arbitrary_transform")
        return self._predict, self._transform

    def vector(self, path: Path) -> np.ndarray:
        """The style vector [1, 1, 1, 100] of the painting at ``path``; StyleError says what is wrong with it."""
        try:
            st = path.stat()
        except OSError:
            raise StyleError(f"style image {path} does not exist: give the path of a PNG or JPEG painting") from None
        key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
        if key in self._vectors:
            self._vectors.move_to_end(key)
            return self._vectors[key]
        if st.st_size > MAX_STYLE_BYTES:
            raise StyleError(f"style image {path.name} is {st.st_size >> 20} MB: use a picture under {MAX_STYLE_BYTES >> 20} MB")
        try:
            img = read_image(path)
        except (MediaError, OSError) as e:
            raise StyleError(f"style image {path.name} cannot be read ({str(e).split(': ')[-1]}): use a PNG or JPEG painting") from None
        h, w = img.shape[:2]
        side = min(h, w)
        y, x = (h - side) // 2, (w - side) // 2
        square = cv2.resize(img[y : y + side, x : x + side], (STYLE_SIDE, STYLE_SIDE), interpolation=cv2.INTER_AREA)
        predict, _ = self._sessions()
        vec = predict.run(None, {predict.get_inputs()[0].name: (square.astype(np.float32) / 255.0)[None]})[0]
        self._vectors[key] = vec
        while len(self._vectors) > VECTORS_KEPT:  # a night of paintings keeps only the latest few
            self._vectors.popitem(last=False)
        return vec

    def stylize(self, frame: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """``frame`` (HxWx3 uint8) painted in the style ``vector``, as float 0..1 at the frame's size."""
        _, transform = self._sessions()
        h, w = frame.shape[:2]
        scale = CANVAS / max(h, w)
        sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
        small = cv2.resize(frame, (sw, sh), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        canvas = np.pad(small, ((0, CANVAS - sh), (0, CANVAS - sw), (0, 0)), mode="reflect")
        names = [i.name for i in transform.get_inputs()]
        out = transform.run(None, {names[0]: canvas[None], names[1]: vector.astype(np.float32)})[0][0, :sh, :sw]
        return cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR) if (sw, sh) != (w, h) else out
