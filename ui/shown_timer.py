"""A timer that runs only while its widget is on screen: a hidden panel costs nothing between frames."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QWidget


class ShownTimer(QTimer):
    """Calls ``tick`` ``hz`` times a second while ``widget`` is shown; stops when it is hidden (and with it)."""

    def __init__(self, widget: QWidget, hz: int, tick: Callable[[], object]):
        super().__init__(widget)
        self.setInterval(1000 // hz)
        self.timeout.connect(tick)
        widget.installEventFilter(self)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Show:
            self.start()
        elif event.type() == QEvent.Type.Hide:
            self.stop()
        return False
