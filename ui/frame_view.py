"""A widget that paints the newest frame of a tap, pulled by a GUI timer (never waits on the engine)."""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QColor, QFont, QImage, QPainter
from PySide6.QtWidgets import QSizePolicy, QWidget


def to_qimage(image: np.ndarray) -> QImage:
    """An RGB uint8 HxWx3 array as a QImage that owns its own copy."""
    a = np.ascontiguousarray(image)
    h, w = a.shape[:2]
    return QImage(a.data, w, h, a.strides[0], QImage.Format.Format_RGB888).copy()


class FrameView(QWidget):
    """Paints ``fetch()``'s frame, letterboxed, with a caption in the corner."""

    def __init__(self, fetch: Callable[[], np.ndarray | None], caption: str = "", parent: QWidget | None = None):
        super().__init__(parent)
        self.fetch = fetch
        self.caption = caption
        self.badge = ""  # e.g. "BLACKOUT", shown big over the picture
        self._image: QImage | None = None
        self._last_id: int | None = None
        self.frames_shown = 0
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 90)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)  # a click on the picture takes focus from a text field

    def sizeHint(self) -> QSize:
        return QSize(960, 540)

    def refresh(self) -> None:
        """Called by the window's timer: copy the newest frame if it is new, then repaint."""
        image = self.fetch()
        if image is None or id(image) == self._last_id:
            return
        self._last_id = id(image)
        self._image = to_qimage(image)
        self.frames_shown += 1
        self.update()

    def last_image(self) -> QImage | None:
        return self._image

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.fillRect(self.rect(), QColor(8, 8, 10))
        if self._image is not None:
            iw, ih = self._image.width(), self._image.height()
            scale = min(self.width() / iw, self.height() / ih)
            w, h = int(iw * scale), int(ih * scale)
            target = QRect((self.width() - w) // 2, (self.height() - h) // 2, w, h)
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            p.drawImage(target, self._image)
            p.setPen(QColor(70, 70, 80))
            p.drawRect(target.adjusted(-1, -1, 0, 0))  # where the output frame ends
        else:
            p.setPen(QColor(140, 140, 150))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "waiting for the first frame…")
        if self.caption:
            f = QFont(self.font())
            f.setBold(True)
            p.setFont(f)
            r = QRect(6, 6, p.fontMetrics().horizontalAdvance(self.caption) + 12, p.fontMetrics().height() + 6)
            p.fillRect(r, QColor(0, 0, 0, 170))
            p.setPen(QColor(230, 230, 230))
            p.drawText(r, Qt.AlignmentFlag.AlignCenter, self.caption)
        if self.badge:
            f = QFont(self.font())
            f.setBold(True)
            f.setPointSize(max(12, self.height() // 14))
            p.setFont(f)
            room = self.width() * 0.92
            wide = p.fontMetrics().horizontalAdvance(self.badge)
            if wide > room:  # "BLACKOUT  FADE TO BLACK" fits the picture's width, whatever the window
                f.setPointSize(max(8, int(f.pointSize() * room / wide)))
                p.setFont(f)
            p.setPen(QColor(255, 70, 70))
            p.drawText(self.rect().adjusted(0, 0, 0, -self.height() // 8), Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, self.badge)
        p.end()
