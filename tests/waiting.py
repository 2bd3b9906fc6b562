"""Waiting on conditions, never on the clock: the one ``wait_for`` of the test suite.

A test that needs something to happen on another thread or process waits for the
condition that shows it happened (a frame counter, a metric, a file, a message), not
for a number of seconds.  The timeout only turns a hang into a failure: it is
generous, a passing test never waits it out, and it is never what a test asserts
(tests assert behaviour; speed is measured by ``dreamdeck bench``).

Import it by name (``from waiting import wait_for``): tests/ is on ``sys.path``
because tests/conftest.py lives there.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Callable

TIMEOUT = 10.0  # seconds: a bound for a hang on a busy 2-core machine, not an expectation


def wait_for(cond: Callable[[], Any], timeout: float = TIMEOUT, what: str | Callable[[], str] = "condition",
             step: float = 0.005) -> Any:
    """Poll ``cond()`` until it returns something true and return that value.

    On timeout raise AssertionError naming ``what`` (a string, or a callable that is
    asked only then, e.g. for a metrics snapshot).  Returning the value keeps the
    ``assert wait_for(...)`` form working too."""
    deadline = time.monotonic() + timeout
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what() if callable(what) else what}")
        time.sleep(step)


def blocked_in_wait(thread: threading.Thread) -> bool:
    """True while ``thread`` is blocked in a threading wait (an Event's or a Condition's), e.g. a
    read waiting for its frame's due time: for a test that must act on a thread that waits."""
    frame = sys._current_frames().get(thread.ident)
    while frame is not None:
        if frame.f_code.co_name == "wait" and frame.f_code.co_filename == threading.__file__:
            return True
        frame = frame.f_back
    return False


class ManualClock:
    """A clock that moves only when the test moves it, for parts that take a ``clock``.

    ``reads`` counts the calls, so a test can wait until a thread has looked at the
    time it set (``wait_for(lambda: clock.reads > n)``)."""

    def __init__(self, t: float = 1000.0):
        self.t = t
        self.reads = 0

    def __call__(self) -> float:
        self.reads += 1
        return self.t

    def set(self, t: float) -> None:
        self.t = t

    def advance(self, seconds: float) -> None:
        self.t += seconds
