"""Presets: list, recall (crossfaded by preset_fade_time), save, rename, delete."""

from __future__ import annotations

from PySide6.QtWidgets import (QFormLayout, QGroupBox, QHBoxLayout, QInputDialog, QLabel, QListWidget, QPushButton,
                               QVBoxLayout, QWidget)

from .binding import make_control


class PresetsPanel(QGroupBox):
    def __init__(self, show, bridge, parent: QWidget | None = None):
        super().__init__("Presets", parent)
        self.show_control = show
        col = QVBoxLayout(self)
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda _: self.recall())
        col.addWidget(self.list, 1)
        row = QHBoxLayout()
        for text, fn in (("Recall", self.recall), ("Save…", self.save), ("Rename…", self.rename), ("Delete", self.delete)):
            b = QPushButton(text)
            b.clicked.connect(fn)
            row.addWidget(b)
        col.addLayout(row)
        form = QFormLayout()
        form.addRow("crossfade (s)", make_control(bridge, "preset_fade_time"))
        form.addRow("quantise", make_control(bridge, "preset_quantize"))
        col.addLayout(form)
        self.message = QLabel()
        self.message.setWordWrap(True)
        col.addWidget(self.message)
        self.reload()

    def reload(self) -> None:
        self.list.clear()
        if self.show_control is None:
            self.message.setText("presets need the show control (not attached)")
            return
        try:
            self.list.addItems(self.show_control.preset_names())
        except Exception as e:
            self._error(e)

    def _selected(self) -> str | None:
        item = self.list.currentItem()
        return item.text() if item else None

    def _error(self, e: Exception) -> None:
        self.message.setText(f"<span style='color:#ff6b6b'>{e}</span>")

    def recall(self) -> None:
        name = self._selected()
        if name:
            try:
                self.show_control.recall_preset(name, source="gui")
                self.message.setText(f"recalled {name}")
            except Exception as e:
                self._error(e)

    def save(self) -> None:
        name, ok = QInputDialog.getText(self, "Save preset", "Name of the current look:", text=self._selected() or "")
        if ok and name.strip():
            try:
                self.show_control.save_preset(name.strip(), source="gui")
                self.message.setText(f"saved {name.strip()}")
            except Exception as e:
                self._error(e)
            self.reload()

    def rename(self) -> None:
        old = self._selected()
        if not old:
            return
        new, ok = QInputDialog.getText(self, "Rename preset", f"New name for {old!r}:", text=old)
        if ok and new.strip() and new.strip() != old:
            try:
                self.show_control.presets.rename(old, new.strip())
            except Exception as e:
                self._error(e)
            self.reload()

    def delete(self) -> None:
        name = self._selected()
        if name:
            try:
                self.show_control.presets.delete(name)
                self.message.setText(f"deleted {name}")
            except Exception as e:
                self._error(e)
            self.reload()
