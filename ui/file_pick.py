"""A file chooser that never blocks the show: a non-modal dialog whose choice arrives by callback.

A modal dialog (QFileDialog.getOpenFileName) freezes every other control while it is open, the safety keys
and buttons included; this one leaves the console working.
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFileDialog, QWidget


def pick_file(parent: QWidget, title: str, filters: str, chosen: Callable[[str], None]) -> QFileDialog:
    """Open a chooser for an existing file; ``chosen(path)`` is called if one is picked (nothing if cancelled)."""
    dialog = QFileDialog(parent, title, "", filters)
    dialog.setFileMode(QFileDialog.FileMode.ExistingFile)
    dialog.setWindowModality(Qt.WindowModality.NonModal)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.fileSelected.connect(lambda path: chosen(path) if path else None)
    dialog.show()
    return dialog
