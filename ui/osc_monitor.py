"""The OSC monitor pane: the last messages that reached the registry from OSC, and OSC errors.

The OSC server keeps counters (``stats``) but no message log, so the monitor is built from what is
public: it subscribes to the registry and lists the changes whose source is an OSC sender (the server
writes with ``source=(ip, port)``; show actions use ``"osc:ip:port"``), and once a second it diffs
the server's error counters into lines such as ``malformed +3``.  Store listeners run on the OSC
thread, so they only append to a locked deque; a GUI timer drains it.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QHBoxLayout, QLabel, QListWidget, QPushButton, QVBoxLayout, QWidget

MAX_LINES = 50
ERROR_COLOUR = QColor("#ff6b6b")
ERROR_KEYS_SKIP = {"packets", "messages", "applied", "ignored", "queries", "actions"}


def is_osc_source(source: Any) -> bool:
    if isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], str):
        return True
    return isinstance(source, str) and source.startswith("osc:")


def sender_text(source: Any) -> str:
    if isinstance(source, tuple):
        return f"{source[0]}:{source[1]}"
    return str(source)[4:]


class OscMonitor(QWidget):
    def __init__(self, store, osc=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.store = store
        self.osc = osc
        self._lock = threading.Lock()
        self._incoming: collections.deque = collections.deque(maxlen=MAX_LINES)
        self._events: list[float] = []  # GUI-thread times of received OSC changes (for msgs/s fallback)
        self.last_address = ""
        self._prev_errors: dict[str, int] | None = None
        col = QVBoxLayout(self)
        head = QHBoxLayout()
        self.status = QLabel()
        head.addWidget(self.status, 1)
        clear = QPushButton("Clear")
        clear.clicked.connect(lambda: self.list.clear())
        head.addWidget(clear)
        col.addLayout(head)
        self.list = QListWidget()
        self.list.setStyleSheet("font-family: monospace;")
        self.list.setToolTip(f"The last {MAX_LINES} OSC changes and errors, newest at the bottom")
        col.addWidget(self.list, 1)
        self._unsubscribe = store.subscribe(self._on_change)
        self.timer = QTimer(self)
        self.timer.timeout.connect(self.drain)
        self.timer.start(100)
        self.error_timer = QTimer(self)
        self.error_timer.timeout.connect(self.poll_errors)
        self.error_timer.start(1000)
        self._show_status()

    def _server(self):
        return getattr(self.osc, "server", None) if self.osc is not None else None

    def _on_change(self, name: str, value: Any, source: Any) -> None:  # any thread
        if is_osc_source(source):
            with self._lock:
                self._incoming.append((time.strftime("%H:%M:%S"), name, value, source))

    def drain(self) -> None:
        with self._lock:
            items = list(self._incoming)
            self._incoming.clear()
        for stamp, name, value, source in items:
            try:
                addr = self.store.spec(name).osc_address
            except Exception:
                addr = name
            self.last_address = addr
            shown = repr(value) if isinstance(value, str) else (f"{value:.3f}" if isinstance(value, float) else str(value))
            self._add(f"{stamp}  {addr}  {shown[:60]}   ← {sender_text(source)}")

    def poll_errors(self) -> None:
        server = self._server()
        if server is None:
            self._show_status()
            return
        stats = dict(server.stats)
        errors = {k: v for k, v in stats.items() if k not in ERROR_KEYS_SKIP}
        if self._prev_errors is not None:
            for k, v in errors.items():
                d = v - self._prev_errors.get(k, 0)
                if d > 0:
                    self._add(f"{time.strftime('%H:%M:%S')}  {k.replace('_', ' ')} +{d}", error=True)
        self._prev_errors = errors
        self._show_status(stats)

    def _show_status(self, stats: dict | None = None) -> None:
        server = self._server()
        if server is None:
            self.status.setText("OSC is off (start with --osc-port, see docs/osc.md)")
            return
        host, port = server.address
        s = stats or {}
        errs = sum(v for k, v in s.items() if k not in ERROR_KEYS_SKIP)
        self.status.setText(f"listening on {host}:{port} · {s.get('messages', 0)} messages · {errs} errors")

    def _add(self, text: str, error: bool = False) -> None:
        # added by text, not as a QListWidgetItem made here: with PySide6 6.11, an item made in Python
        # and later deleted by the list left one more reference to None each time (about 20 a second under
        # a busy control surface), found by the soak run
        self.list.addItem(text)
        if error:
            self.list.item(self.list.count() - 1).setForeground(ERROR_COLOUR)
        while self.list.count() > MAX_LINES:
            self.list.model().removeRow(0)
        self.list.scrollToBottom()

    def lines(self) -> list[str]:
        return [self.list.item(i).text() for i in range(self.list.count())]

    def close_monitor(self) -> None:
        self.timer.stop()
        self.error_timer.stop()
        self._unsubscribe()
