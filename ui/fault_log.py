"""The show's fault log in the console: newest first, each with its time and where it happened.

Refreshed from the metrics snapshot the HUD already reads; rebuilt only when a fault was
added, so an idle log costs nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QListWidget, QVBoxLayout, QWidget

from engine.live.status import LiveStatus


class FaultLog(QWidget):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        col = QVBoxLayout(self)
        self.now = QLabel()
        self.now.setWordWrap(True)
        col.addWidget(self.now)
        self.list = QListWidget()
        col.addWidget(self.list, 1)
        self.total = 0
        self._problem: str | None = ""
        self.show_problem(None)

    def show_problem(self, problem: str | None) -> None:
        if problem == self._problem:
            return
        self._problem = problem
        self.now.setText(f"<b style='color:#ff4b4b'>now: {problem}</b>" if problem
                         else "<span style='color:#3ad36a'>no fault now</span>")

    def update_from(self, m: LiveStatus) -> bool:
        """Show the snapshot's faults; True when new ones arrived since the last call."""
        problem = m.source_problem
        self.show_problem(f"source {m.source}: {problem}" if problem else None)
        total = m.faults_total
        if total == self.total:
            return False
        self.total = total
        self.list.clear()
        self.list.addItems(list(reversed(m.faults)))
        return True
