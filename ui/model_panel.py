"""The model panel: the built-in styles and tiny, recent models, a Hugging Face id or a local path.

Loading runs in the show session (a worker thread with progress and cancel); the
previous model keeps painting, or the input shows, until the new one is ready, then
it is swapped in at a frame edge.  A failure shows the loader's one-line message inline.
A model asked for by OSC, MIDI or a preset shows its progress here too.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QComboBox, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from .file_pick import pick_file

RECENT_MAX = 8
BUILT_IN = ("styles", "tiny")  # always offered first

class _Signals(QObject):
    state = Signal(object)  # engine.live.model_host.ModelState, from the loading thread


class ModelPanel(QGroupBox):
    loaded = Signal(str)  # the name now running
    failed = Signal(str)  # the inline error, for the status bar too

    def __init__(self, session, confirm: Callable[..., None], parent: QWidget | None = None):
        super().__init__("Model", parent)
        self.session = session
        self.confirm = confirm
        state = session.status().model
        self.current = state.running
        self.recent: list[str] = []
        self._sig = _Signals()
        self._sig.state.connect(self._on_state)
        self._seen_loads = state.loads
        self._unwatch = session.watch_model(self._sig.state.emit)

        col = QVBoxLayout(self)
        self.running_label = QLabel()
        col.addWidget(self.running_label)
        row = QHBoxLayout()
        self.name_box = QComboBox()
        self.name_box.setEditable(True)
        self.name_box.setMinimumContentsLength(22)
        self.name_box.lineEdit().setPlaceholderText("styles, tiny, org/model id, or a local folder / .safetensors")
        self.name_box.lineEdit().returnPressed.connect(self.load_clicked)
        row.addWidget(self.name_box, 1)
        browse = QPushButton("…")
        browse.setToolTip("choose a local .safetensors file")
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        self.load_button = QPushButton("Load")
        self.load_button.clicked.connect(self.load_clicked)
        row.addWidget(self.load_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        row.addWidget(self.cancel_button)
        col.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.progress.setTextVisible(True)
        self.progress.hide()
        col.addWidget(self.progress)
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #ff6b6b; font-weight: bold;")
        self.error_label.hide()
        col.addWidget(self.error_label)
        self.notice_label = QLabel()
        self.notice_label.setWordWrap(True)
        self.notice_label.setStyleSheet("color: #f0c419;")
        self.notice_label.hide()
        col.addWidget(self.notice_label)
        self.set_recent([session.store.get("model")])  # what the window was asked to run (it may still be loading)
        self._show_running()
        if state.loading:  # a load started with the session: show its progress from the first frame
            self._loading_shown(state.loading)
            self._on_state(state)

    # -- recent models -----------------------------------------------------------------
    def set_recent(self, names: list[str]) -> None:
        seen = []
        for n in [*BUILT_IN, *names]:
            if n and n not in seen:
                seen.append(n)
        self.recent = seen[: RECENT_MAX + 1]
        text = self.name_box.currentText()
        self.name_box.clear()
        self.name_box.addItems(self.recent)
        self.name_box.setCurrentText(text or self.current or "")

    def _remember(self, name: str) -> None:
        self.set_recent([name, *[n for n in self.recent if n != name]])

    def _browse(self) -> None:
        pick_file(self, "Model checkpoint", "Checkpoints (*.safetensors);;All files (*)", self.name_box.setCurrentText)

    def _show_running(self) -> None:
        self.running_label.setText(f"running: <b>{self.current}</b>" if self.current
                                   else "no model yet: the output shows the input until one is loaded")

    # -- loading -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self.session.status().model.loading is not None

    def load_clicked(self) -> None:
        name = self.name_box.currentText().strip()
        if not name or self.busy:
            return
        self.confirm(f"Load model {name!r}? The output switches when it is ready.", lambda: self.load(name))

    def load(self, name: str) -> None:
        self._loading_shown(name)
        self.session.load_model(name)

    def _loading_shown(self, name: str) -> None:
        self.error_label.hide()
        self.progress.setValue(0)
        self.progress.setFormat(f"{name}: starting…")
        self.progress.show()
        self.load_button.setEnabled(False)
        self.cancel_button.setEnabled(True)

    def detach(self) -> None:
        """The window is closing: a load still running must not call into a deleted widget."""
        self._unwatch()

    def cancel(self) -> None:
        self.session.cancel_load()
        self.progress.setFormat("cancelling…")

    def _on_state(self, state) -> None:
        if state.loading:
            if self.progress.isHidden():  # a load another surface asked for (OSC, MIDI, a preset)
                self._loading_shown(state.loading)
            self.progress.setValue(int(max(0.0, min(1.0, state.fraction)) * 100))
            self.progress.setFormat(f"{state.loading}: {state.stage[:60]}  %p%")
            return
        if state.loads == self._seen_loads:
            return
        self._seen_loads = state.loads
        self.progress.hide()
        self.load_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if state.error:
            still = f"Still running {self.current!r}." if self.current else "The output shows the input meanwhile."
            self.error_label.setText(f"Could not load {state.attempted!r}: {state.error.rstrip('.')}. {still}")
            self.error_label.show()
            self.failed.emit(self.error_label.text())
            return
        if state.warnings:  # extras the load went on without (offline): said, in amber, not fatal
            self.notice_label.setText(" ".join(f"{w.text}." for w in state.warnings)
                                      + " (Start with --no-tiny-vae / --no-lcm-lora to leave them out.)")
            self.notice_label.show()
        else:
            self.notice_label.hide()
        self.current = state.running
        self._remember(state.running)
        self._show_running()
        self.loaded.emit(state.running)

