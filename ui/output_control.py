"""The console's Output window controls: the screen to open it on, the toggle, and the window itself."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QComboBox, QPushButton

from .output_window import OutputWindow, screen_names


class OutputControl(QObject):
    def __init__(self, fetch: Callable, keys: Callable[[], list], say: Callable[[str], None], parent=None):
        super().__init__(parent)
        self.fetch, self.keys, self.say = fetch, keys, say
        self.window: OutputWindow | None = None
        self.screen_combo = QComboBox()
        self.screen_combo.setToolTip("the screen (projector) the output window opens on")
        self.screen_combo.setMaximumWidth(170)  # a long screen name never crowds the top row
        self.refresh_screens()
        self.button = QPushButton("Output window")
        self.button.setCheckable(True)
        self.button.setToolTip("full-screen output on the chosen screen, for a projector (Esc there closes it; "
                               "the show's keys work there too)")
        self.button.toggled.connect(self.set_open)

    def refresh_screens(self) -> None:
        current = self.screen_combo.currentText()
        self.screen_combo.clear()
        for label, screen in screen_names():
            self.screen_combo.addItem(label, screen)
        i = self.screen_combo.findText(current)
        if i >= 0:
            self.screen_combo.setCurrentIndex(i)

    def set_open(self, on: bool) -> None:
        if not on:
            if self.window is not None:
                w, self.window = self.window, None
                w.closed.disconnect(self._closed)
                w.close()
                w.deleteLater()
            return
        screen = self.screen_combo.currentData()
        if screen is None:
            self.refresh_screens()
            screen = self.screen_combo.currentData()
        if screen is None:
            self.say("no screen to open the output window on")
            self._set_button(False)
            return
        # with one screen a normal window: full screen it would cover the console
        self.window = OutputWindow(self.fetch, screen, keys=self.keys(), windowed=len(screen_names()) < 2)
        self.window.closed.connect(self._closed)
        self.window.open()

    def refresh(self) -> None:
        if self.window is not None:
            self.window.refresh()

    def _closed(self) -> None:  # Esc in the output window
        w, self.window = self.window, None
        if w is not None:
            w.deleteLater()
        self._set_button(False)

    def _set_button(self, on: bool) -> None:
        self.button.blockSignals(True)
        self.button.setChecked(on)
        self.button.blockSignals(False)
