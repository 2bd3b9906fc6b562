"""Each sink on its own thread, behind a latest-frame slot.

A slow sink drops frames instead of stalling the show; a failing sink is
reported (status and fault log), closed, and reopened after a pause while the
other sinks carry on.
"""

from __future__ import annotations

import threading

import numpy as np

from .contracts import Sink, SinkError
from .live_metrics import LiveMetrics
from .slot import LatestSlot


class SinkRunner:
    def __init__(self, sink: Sink, width: int, height: int, fps: float, metrics: LiveMetrics, retry_s: float = 2.0):
        self.sink = sink
        self.name = sink.name
        self.size = (width, height)
        self.fps = fps
        self.metrics = metrics
        self.retry_s = retry_s
        self._slot: LatestSlot[tuple[np.ndarray, float]] = LatestSlot()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"sink:{self.name}", daemon=True)
        self.sent = 0
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    def offer(self, image: np.ndarray, t: float) -> None:
        self._slot.put((image, t))

    @property
    def dropped(self) -> int:
        return self._slot.dropped

    def _status(self, text: str) -> None:
        self.metrics.sink_status(self.name, text)

    def _fail(self, what: str, e: Exception) -> None:
        self.failures += 1
        msg = str(e) if isinstance(e, SinkError) else f"{type(e).__name__}: {e}"
        self._status(f"{what}: {msg}")
        self.metrics.fault(self.name, msg)
        try:
            self.sink.close()
        except Exception:
            pass
        self._stop.wait(self.retry_s)

    def _run(self) -> None:
        opened = False
        version = 0
        while not self._stop.is_set():
            if not opened:
                try:
                    self.sink.open(*self.size, self.fps)
                    opened = True
                    self._status("ok")
                except Exception as e:
                    self._fail("unavailable", e)
                    continue
            item, v = self._slot.get(after=version, timeout=0.1)
            if item is None:
                continue
            version = v
            try:
                self.sink.send(*item)
                self.sent += 1
            except Exception as e:
                opened = False
                self._fail("failed", e)
        try:
            self.sink.close()
        except Exception as e:
            self.metrics.fault(self.name, f"close: {e}")
        self._status("stopped")

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
