"""The full-screen output window for a projector: a frameless window on a chosen screen that paints
the same output frames as the preview (a :class:`~ui.frame_view.FrameView` on the same fetch).

Esc (in that window) or the console's "Output window" toggle closes it.  It has no shortcuts of its
own besides Esc, so a stray key on the projector window never touches the show.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication, QKeySequence, QScreen, QShortcut
from PySide6.QtWidgets import QVBoxLayout, QWidget

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

    def __init__(self, fetch: Callable[[], np.ndarray | None], screen: QScreen):
        super().__init__(None, Qt.WindowType.Window | Qt.WindowType.FramelessWindowHint)
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
        self.target_screen = screen
        self.setScreen(screen)
        self.setGeometry(screen.geometry())

    def open(self) -> None:
        self.setScreen(self.target_screen)
        self.setGeometry(self.target_screen.geometry())
        self.showFullScreen()

    def refresh(self) -> None:
        self.view.refresh()

    def closeEvent(self, event) -> None:
        event.accept()
        self.closed.emit()
