"""The full-screen output window for a projector: a frameless window on a chosen screen that paints
the same output frames as the preview (a :class:`~ui.frame_view.FrameView` on the same fetch).

Esc (in that window) or the console's "Output window" toggle closes it.  The show's action keys
(blackout, freeze, PANIC on Shift+Esc, ...) work there as in the console, so the show is safe
whichever window has the keyboard.  With one screen it opens as a normal window (it would cover the
console), and a hint says how to close it.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QScreen, QShortcut
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from .frame_view import FrameView


def screen_names() -> list[tuple[str, QScreen]]:
    """(label, screen) for each screen Qt knows, the primary one first-labelled as such."""
    primary = QGuiApplication.primaryScreen()
    out = []
    for i, s in enumerate(QGuiApplication.screens()):
        g = s.geometry()
        tag = " (primary)" if s is primary or s == primary else ""
        out.append((f"{i + 1}: {s.name() or 'screen'} {g.width()}x{g.height()}{tag}", s))
    return out


class OutputWindow(QWidget):
    """Frameless, full screen on ``screen``; paints ``fetch()``'s newest frame (no caption, no badge)."""

    closed = Signal()

    def __init__(self, fetch: Callable[[], np.ndarray | None], screen: QScreen, keys=(), windowed: bool = False):
        flags = Qt.WindowType.Window if windowed else Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint
        super().__init__(None, flags)
        self.windowed = windowed
        self.setWindowTitle("DreamDeck output")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.view = FrameView(fetch, "")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.view)
        self.setStyleSheet("background: black;")
        self.setCursor(Qt.CursorShape.BlankCursor)
        esc = QShortcut(QKeySequence(Qt.Key.Key_Escape), self)
        esc.activated.connect(self.close)
        self.keys = [esc]
        for key, slot in keys:  # the console's action keys, acting from here too
            s = QShortcut(QKeySequence(key), self)
            s.setObjectName(f"key:{key}")
            s.activated.connect(slot)
            self.keys.append(s)
        self.hint = QLabel("Esc closes this window  ·  B blackout  ·  Shift+Esc PANIC", self)
        self.hint.setStyleSheet("background: rgba(0,0,0,170); color: #e6e6e6; font-size: 15px; padding: 8px;")
        self.hint.adjustSize()
        self.hint.move(16, 16)
        QTimer.singleShot(4000, self.hint.hide)  # said once, then the picture alone
        self.target_screen = screen
        self.setScreen(screen)
        self.setGeometry(screen.geometry())

    def open(self) -> None:
        self.setScreen(self.target_screen)
        if self.windowed:
            g = self.target_screen.availableGeometry()
            self.resize(g.width() // 2, g.height() // 2)
            self.show()
            return
        self.setGeometry(self.target_screen.geometry())
        self.showFullScreen()

    def refresh(self) -> None:
        self.view.refresh()

    def closeEvent(self, event) -> None:
        event.accept()
        self.closed.emit()
