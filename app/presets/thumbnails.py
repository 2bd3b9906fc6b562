"""Preset thumbnails: a small picture of the output, saved with a user preset, for the console's grid.

A user preset ``NAME`` saved while a frame was on the output gets ``<presets folder>/thumbnails/NAME.png``
(at most 160x90, the frame's aspect kept).  They sit in a sub-folder so that writing one never moves
the presets folder's mtime, which keys the preset listing's cache (app/presets/store.py).  A shipped
preset may have one in ``presets/looks/thumbnails/``.  The show control (app/show_control.py) keeps
them with their presets: saved over, renamed and deleted together, so every surface gets them.

A thumbnail is a nicety: one that cannot be made or written is logged and the preset is saved anyway.
``version`` moves on every change made here, so a grid re-reads its pictures only then.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from pathlib import Path

import cv2
import numpy as np

from engine.atomic_file import write_bytes_atomic

from .errors import PresetError
from .names import check_name
from .store import PresetStore

SIZE = (160, 90)  # the largest thumbnail, width x height
FOLDER = "thumbnails"
SUFFIX = ".png"
log = logging.getLogger("dreamdeck.presets")


def thumbnail_image(frame: np.ndarray, size: tuple[int, int] = SIZE) -> np.ndarray | None:
    """``frame`` (HxWx3 uint8 RGB, or HxWx4, or HxW grey) shrunk to fit ``size``, as BGR for cv2; None
    for anything else."""
    a = np.asarray(frame)
    if a.dtype != np.uint8 or a.ndim not in (2, 3) or a.shape[0] < 1 or a.shape[1] < 1:
        return None
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.shape[2] not in (3, 4):
        return None
    h, w = a.shape[:2]
    scale = min(size[0] / w, size[1] / h, 1.0)
    tw, th = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(np.ascontiguousarray(a[:, :, :3]), (tw, th), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(small, cv2.COLOR_RGB2BGR)


class Thumbnails:
    def __init__(self, presets: PresetStore):
        self.presets = presets
        self._lock = threading.Lock()
        self._version = 0

    @property
    def version(self) -> int:
        """Moves on every thumbnail written, moved or removed here."""
        with self._lock:
            return self._version

    def _changed(self) -> None:
        with self._lock:
            self._version += 1

    def _user(self, name: str) -> Path:
        return self.presets.directory / FOLDER / (check_name(name) + SUFFIX)

    def path(self, name: str) -> Path | None:
        """The thumbnail of preset ``name`` (the user's, else a shipped one), or None when it has none."""
        try:
            clean = check_name(name)
        except PresetError:
            return None
        user = self.presets.directory / FOLDER / (clean + SUFFIX)
        if user.is_file() and (self.presets.directory / (clean + ".json")).is_file():
            return user
        shipped = self.presets.shipped_directory
        if shipped is not None and not (self.presets.directory / (clean + ".json")).is_file():
            p = shipped / FOLDER / (clean + SUFFIX)
            if p.is_file():
                return p
        return None

    def save(self, name: str, frame: np.ndarray | None) -> Path | None:
        """Write ``name``'s thumbnail from ``frame``; without a usable frame, remove an older one (it
        showed another look).  Returns the file written, or None."""
        path = self._user(name)
        image = thumbnail_image(frame) if frame is not None else None
        try:
            if image is None:
                self._remove(path)
                return None
            ok, data = cv2.imencode(SUFFIX, image)
            if not ok:
                raise OSError("the image could not be encoded")
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes_atomic(path, data.tobytes())
            return path
        except OSError as e:
            log.warning("preset %r: no thumbnail (%s): %s", name, path, e.strerror or e)
            return None
        finally:
            self._changed()

    def rename(self, old: str, new: str) -> None:
        src, dst = self._user(old), self._user(new)
        try:
            if src.is_file():
                os.replace(src, dst)
            else:
                self._remove(dst)
        except OSError as e:
            log.warning("preset %r renamed to %r: its thumbnail was not moved: %s", old, new, e.strerror or e)
        finally:
            self._changed()

    def delete(self, name: str) -> None:
        try:
            self._remove(self._user(name))
        except OSError as e:
            log.warning("preset %r deleted: its thumbnail stays (%s)", name, e.strerror or e)
        finally:
            self._changed()

    @staticmethod
    def _remove(path: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
