"""The model panel: built-in tiny, recent models, a Hugging Face id or a local path.

Loading runs on a worker thread with progress and cancel; the previous model
keeps painting until the new one is ready, then ``pipeline.set_generator``
swaps it at a frame edge.  A failure shows the loader's one-line message inline.
"""

from __future__ import annotations

import threading
from typing import Callable

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QComboBox, QFileDialog, QGroupBox, QHBoxLayout, QLabel, QProgressBar, QPushButton,
                               QVBoxLayout, QWidget)

from engine.torch_threads import pinned

RECENT_MAX = 8
TINY_BANNER = ("Running the built-in <b>tiny</b> test model (random weights: texture, not pictures). "
               "For real images load <b>stabilityai/sd-turbo</b> here or start <code>dreamdeck --model stabilityai/sd-turbo</code>"
               " &mdash; it downloads once from Hugging Face (about 2.5 GB).")


class _Signals(QObject):
    progress = Signal(str, float)
    done = Signal(str, object)  # name, generator
    failed = Signal(str, str)  # name, message


class ModelPanel(QGroupBox):
    loaded = Signal(str)  # the name now running
    failed = Signal(str)  # the inline error, for the status bar too

    def __init__(self, console, confirm: Callable[[str], bool], parent: QWidget | None = None):
        super().__init__("Model", parent)
        self.console = console
        self.confirm = confirm
        self.current = console.model_name
        self.recent: list[str] = []
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()
        self._sig = _Signals()
        self._sig.progress.connect(self._on_progress)
        self._sig.done.connect(self._on_done)
        self._sig.failed.connect(self._on_failed)

        col = QVBoxLayout(self)
        self.running_label = QLabel()
        col.addWidget(self.running_label)
        row = QHBoxLayout()
        self.name_box = QComboBox()
        self.name_box.setEditable(True)
        self.name_box.setMinimumContentsLength(22)
        self.name_box.lineEdit().setPlaceholderText("tiny, org/model id, or a local folder / .safetensors")
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
        self.set_recent([console.model_name])
        self._show_running()

    # -- recent models -----------------------------------------------------------------
    def set_recent(self, names: list[str]) -> None:
        seen = []
        for n in ["tiny", *names]:
            if n and n not in seen:
                seen.append(n)
        self.recent = seen[: RECENT_MAX + 1]
        text = self.name_box.currentText()
        self.name_box.clear()
        self.name_box.addItems(self.recent)
        self.name_box.setCurrentText(text or self.current)

    def _remember(self, name: str) -> None:
        self.set_recent([name, *[n for n in self.recent if n != name]])

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Model checkpoint", "", "Checkpoints (*.safetensors);;All files (*)")
        if path:
            self.name_box.setCurrentText(path)

    def _show_running(self) -> None:
        self.running_label.setText(f"running: <b>{self.current}</b>")

    # -- loading -----------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def load_clicked(self) -> None:
        name = self.name_box.currentText().strip()
        if not name or self.busy:
            return
        if self.confirm(f"Load model {name!r}? The output switches when it is ready."):
            self.load(name)

    def load(self, name: str) -> None:
        self._cancel = threading.Event()
        self.error_label.hide()
        self.progress.setValue(0)
        self.progress.setFormat(f"{name}: starting…")
        self.progress.show()
        self.load_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._thread = threading.Thread(target=pinned(self._work), args=(name, self._cancel), name="dreamdeck-model-load", daemon=True)
        self._thread.start()

    def _work(self, name: str, cancel: threading.Event) -> None:
        from engine.diffusion.model_loader import ModelLoadError, load_model

        try:
            bundle = load_model(name, progress=lambda s, f: self._sig.progress.emit(s, f), cancel=cancel,
                                **self.console.load_options)
            if cancel.is_set():
                raise ModelLoadError("cancelled")
            make = self.console.make_generator or _default_generator(self.console.store)
            generator = make(bundle)
        except Exception as e:
            msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
            if not isinstance(e, ModelLoadError):
                msg = f"{type(e).__name__}: {msg}"
            self._sig.failed.emit(name, msg)
            return
        self._sig.done.emit(name, generator)

    def cancel(self) -> None:
        self._cancel.set()
        self.progress.setFormat("cancelling…")

    def wait(self, timeout: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _on_progress(self, stage: str, fraction: float) -> None:
        self.progress.setValue(int(max(0.0, min(1.0, fraction)) * 100))
        self.progress.setFormat(f"{stage[:60]}  %p%")

    def _finish(self) -> None:
        self.progress.hide()
        self.load_button.setEnabled(True)
        self.cancel_button.setEnabled(False)

    def _on_done(self, name: str, generator) -> None:
        self._finish()
        if self._cancel.is_set():
            return
        self.console.pipeline.set_generator(generator)
        self.current = name
        self.console.model_name = name
        self._remember(name)
        self._show_running()
        self.loaded.emit(name)

    def _on_failed(self, name: str, message: str) -> None:
        self._finish()
        self.error_label.setText(f"Could not load {name!r}: {message}. Still running {self.current!r}.")
        self.error_label.show()
        self.failed.emit(self.error_label.text())


def _default_generator(store):
    def make(bundle):
        from engine.diffusion.stream import DiffusionStream, StreamSettings

        return DiffusionStream(bundle, StreamSettings.from_values(store.snapshot().values))

    return make
