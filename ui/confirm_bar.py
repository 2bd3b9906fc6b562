"""The live lock's question, asked inline: a bar above the safety bar, never a modal dialog.

A modal question would freeze every other control while it waits (the safety keys and buttons
included); this bar leaves the whole console working and calls back when answered.  One question
at a time: a new one answers the open one with "no".
"""

from __future__ import annotations

from typing import Callable

from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QWidget


class ConfirmBar(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("confirmBar")
        self.setStyleSheet("#confirmBar { background: #3b3000; border: 1px solid #d0a000; }"
                           " #confirmBar QLabel { color: #ffe9a0; font-weight: bold; background: transparent; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 4, 8, 4)
        self.question = QLabel()
        self.question.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)  # never widens the window
        row.addWidget(self.question, 1)
        self.yes_button = QPushButton("Yes, do it")
        self.yes_button.setObjectName("confirm:yes")
        self.yes_button.clicked.connect(lambda: self._answer(True))
        row.addWidget(self.yes_button)
        self.no_button = QPushButton("No")
        self.no_button.setObjectName("confirm:no")
        self.no_button.clicked.connect(lambda: self._answer(False))
        row.addWidget(self.no_button)
        self._yes: Callable[[], None] | None = None
        self._no: Callable[[], None] | None = None
        self.hide()

    @property
    def asking(self) -> bool:
        return self._yes is not None

    def ask(self, question: str, on_yes: Callable[[], None], on_no: Callable[[], None] | None = None) -> None:
        if self.asking:
            self._answer(False)
        self._yes, self._no = on_yes, on_no
        self.question.setText(f"LIVE LOCK: {question}")
        self.question.setToolTip(question)
        self.show()

    def _answer(self, yes: bool) -> None:
        call = self._yes if yes else self._no
        self._yes = self._no = None
        self.hide()
        if call is not None:
            call()
