"""Each sink on its own thread, behind a latest-frame slot.

A slow sink drops frames instead of stalling the show (the output thread only
puts the newest frame in the slot); a failing sink is reported (status and fault
log), closed, and reopened after a pause while the other sinks carry on. A sink
that raises :class:`SinkFinished` (a recording whose disk filled) is reported once
and closed, and its thread idles until stopped: it is never reopened. A sink with
an ``idle()`` method gets it called when no frame came for 0.1 s; a ``notice`` it
has after opening (a hardware encoder that fell back) goes to the fault log once.
"""

from __future__ import annotations

import threading

import numpy as np

from .contracts import Sink, SinkError, SinkFinished
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
        self.finished: str | None = None  # why the sink ended for good (SinkFinished), once it has

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

    def _finish(self, e: SinkFinished) -> None:
        """Said once; closed; the thread then only waits to be stopped."""
        self.finished = str(e)
        self._status(f"finished: {e}")
        self.metrics.fault(self.name, str(e))
        try:
            self.sink.close()
        except Exception:
            pass

    def _run(self) -> None:
        opened = False
        version = 0
        while not self._stop.is_set():
            if self.finished is not None:
                self._stop.wait(0.5)
                continue
            if not opened:
                try:
                    self.sink.open(*self.size, self.fps)
                    opened = True
                    self._status("ok")
                    notice = getattr(self.sink, "notice", None)
                    if notice:
                        self.metrics.fault(self.name, str(notice))
                except SinkFinished as e:
                    self._finish(e)
                    continue
                except Exception as e:
                    self._fail("unavailable", e)
                    continue
            item, v = self._slot.get(after=version, timeout=0.1)
            try:
                if item is None:
                    idle = getattr(self.sink, "idle", None)
                    if idle is not None:
                        idle()
                    continue
                version = v
                self.sink.send(*item)
                self.sent += 1
            except SinkFinished as e:
                opened = False
                self._finish(e)
            except Exception as e:
                opened = False
                self._fail("failed", e)
        if self.finished is not None:
            return  # closed already; its last word stays in the status
        try:
            self.sink.close()
        except Exception as e:
            self.metrics.fault(self.name, f"close: {e}")
        self._status("stopped")

    def stop(self, timeout: float = 1.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)
