"""Switching back ends during a show: prepare in the background, swap between frames.

:class:`AccelManager` belongs to one stream.  When the ``accel`` parameter (or
the shapes the stream needs) changes, :meth:`AccelManager.request` starts
preparing the new back end on a background thread -- export, engine build,
session load, compilation -- while the current one keeps serving frames.  The
generate thread calls :meth:`AccelManager.poll` at each frame edge; only there
does the new back end take over, so no frame ever mixes two back ends.

A preparation that fails (or a back end that fails while serving) is reported
once -- a one-line message in :attr:`last_error` and :attr:`status`, a log
warning and the ``on_fault(where, message)`` callback (the live metrics' fault
log) -- and the current back end keeps serving (eager after a serving failure).
The same failing request is not retried at every frame; choosing another back
end and back retries it.  :meth:`cancel` stops a long preparation.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from ..torch_threads import pinned
from .accelerated import Accelerated
from .base import get_backend
from .cache import AccelBuildError, BuildCancelled, Cancel
from .eager import EAGER
from .spec import AccelSpec

log = logging.getLogger("dreamdeck.accel")

UNCHANGED = object()  # poll(): nothing to swap


def one_line(e: BaseException) -> str:
    """An exception as one line of at most 300 characters, for the fault log."""
    text = " ".join(str(e).split()) or type(e).__name__
    if not isinstance(e, AccelBuildError):
        text = f"{type(e).__name__}: {text}"
    return text if len(text) <= 300 else text[:297] + "..."


@dataclass(frozen=True)
class AccelStatus:
    """What serves, what is wanted, the preparation in progress and the last failure:
    what the GUI and the CLI show (:meth:`AccelManager.snapshot`)."""

    active: str  # the back end serving frames now
    requested: str  # the one the ``accel`` parameter asks for
    status: str  # one line: what serves and how (e.g. the provider and threads), or what went wrong
    preparing: str | None = None  # the back end being prepared; None: none
    progress: float | None = None  # its progress, 0..1
    progress_message: str | None = None
    elapsed_s: float | None = None  # seconds since its preparation began
    last_error: str | None = None


@dataclass
class _Job:
    name: str
    spec: AccelSpec
    cancel: Cancel = field(default_factory=Cancel)
    thread: threading.Thread | None = None
    result: Accelerated | None = None
    error: str | None = None
    fraction: float = 0.0
    message: str = ""
    started: float = field(default_factory=time.monotonic)
    done: bool = False


class AccelManager:
    def __init__(self, bundle, on_fault: Callable[[str, str], None] | None = None, backends=get_backend):
        self.bundle = bundle
        self.on_fault = on_fault
        self._backends = backends
        self._lock = threading.Lock()
        self.active = EAGER  # the back end serving frames now
        self.served: Accelerated | None = None  # None: the torch modules themselves (eager)
        self.requested = EAGER
        self._want: AccelSpec | None = None
        self._job: _Job | None = None
        self._swap_to_eager = False
        self._failed: tuple[str, AccelSpec] | None = None
        self.last_error: str | None = None
        self.status = EAGER
        self._lent: set[int] = set()  # ids of Accelerated handed in by install(): not ours to close

    # -- asking ---------------------------------------------------------------------
    def request(self, name: str, spec: AccelSpec) -> None:
        """Ask for back end ``name`` serving ``spec``; returns at once (any thread)."""
        with self._lock:
            self.requested, self._want = name, spec
            if name != (self._failed or ("",))[0]:
                self._failed = None
            if self._serves(name, spec):
                self._drop_job()
                self._swap_to_eager = False
                return
            if name == EAGER:
                self._drop_job()
                self._swap_to_eager = True  # no preparation: the modules are there
                self.status = "eager (at the next frame)"
                return
            self._swap_to_eager = False
            if self._job is not None and self._job.name == name and self._job.spec == spec and not self._job.done:
                return  # already on its way
            if self._failed == (name, spec):
                return  # reported already; not retried at every frame
            self._drop_job()
            job = _Job(name, spec)
            job.thread = threading.Thread(target=pinned(self._prepare), args=(job,), name=f"dreamdeck-accel-{name}", daemon=True)
            self._job = job
            self.status = f"preparing {name}"
        log.info("preparing acceleration back end %s", name)
        job.thread.start()

    def _serves(self, name: str, spec: AccelSpec) -> bool:
        if name != self.active:
            return False
        return self.served is None or self.served.serves_spec(spec)

    def _drop_job(self) -> None:
        if self._job is not None and not self._job.done:
            self._job.cancel.set()
        self._job = None

    def cancel(self) -> None:
        """Stop the preparation in progress; the current back end keeps serving."""
        with self._lock:
            job = self._job
            self._drop_job()
            if job is not None:
                self.status = f"{self.active} (preparation of {job.name} cancelled)"
                self._failed = (job.name, job.spec)  # not restarted by the next frame's request

    # -- the background preparation ----------------------------------------------------
    def _prepare(self, job: _Job) -> None:
        def progress(fraction: float, message: str) -> None:
            job.fraction, job.message = max(0.0, min(1.0, float(fraction))), message
            if job.cancel.is_set():
                raise BuildCancelled(f"preparation of {job.name} cancelled")

        try:
            backend = self._backends(job.name)
            reason = backend.unavailable_reason()
            if reason:
                raise AccelBuildError(reason)
            job.result = backend.prepare(self.bundle, job.spec, progress, job.cancel)
        except BaseException as e:  # noqa: BLE001 - everything is reported, nothing escapes the thread
            job.error = "cancelled" if isinstance(e, BuildCancelled) or job.cancel.is_set() else one_line(e)
        finally:
            job.done = True
            if job.cancel.is_set() and job.result is not None:
                job.result.close()
                job.result = None

    # -- the frame edge (generate thread) ---------------------------------------------------
    def poll(self):
        """Called between frames.  Returns :data:`UNCHANGED`, or what serves from now
        on: an :class:`Accelerated`, or None for eager (the modules themselves)."""
        with self._lock:
            if self._swap_to_eager:
                self._swap_to_eager = False
                return self._install(EAGER, None)
            job = self._job
            if job is None or not job.done:
                return UNCHANGED
            self._job = None
            if job.result is not None:
                return self._install(job.name, job.result)
            if job.error == "cancelled":
                return UNCHANGED
            self._failed = (job.name, job.spec)
            msg = f"{job.name} back end failed: {job.error}; {self.active} keeps serving"
        self._report(msg)
        return UNCHANGED

    def install(self, name: str, served: Accelerated | None) -> None:
        """Serve with an already prepared back end from the next frame edge on (the
        bench switches between back ends it prepared once).  The caller keeps
        ownership of ``served``: the manager will not close it."""
        with self._lock:
            self._drop_job()
            self._lent.add(id(served))
            job = _Job(name, served.spec if served is not None else AccelSpec())
            job.result, job.done = served, True
            if served is None:
                self._swap_to_eager = True
            else:
                self._job = job

    def _install(self, name: str, served: Accelerated | None):
        old = self.served
        self.active, self.served = name, served
        self.status = name if served is None else f"{name} ({served.detail})" if served.detail else name
        self.last_error = None
        if old is not None and old is not served and id(old) not in self._lent:
            old.close()
        log.info("acceleration back end %s serving", name)
        return served

    def serving_failed(self, error: BaseException) -> None:
        """The served back end raised during a frame: report, and eager from now on."""
        with self._lock:
            name = self.active
            self._failed = (name, self._want) if self._want is not None else None
            self._install(EAGER, None)
        self._report(f"{name} back end failed while serving: {one_line(error)}; eager serves from now on")

    def _report(self, msg: str) -> None:
        self.last_error = msg
        self.status = f"{self.active} ({msg})"
        log.warning("%s", msg)
        if self.on_fault is not None:
            try:
                self.on_fault("accel", msg)
            except Exception:
                log.exception("fault callback failed")

    # -- reading -----------------------------------------------------------------------
    @property
    def preparing(self) -> bool:
        with self._lock:
            return self._job is not None and not self._job.done

    def snapshot(self) -> AccelStatus:
        """For the GUI and CLI: what serves, what is wanted, progress, the last failure."""
        with self._lock:
            job = self._job
            if job is None:
                return AccelStatus(self.active, self.requested, self.status, last_error=self.last_error)
            return AccelStatus(self.active, self.requested, self.status, preparing=job.name, progress=job.fraction,
                               progress_message=job.message, elapsed_s=time.monotonic() - job.started,
                               last_error=self.last_error)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the preparation in progress ends (tests, the bench); True if none is left."""
        with self._lock:
            job = self._job
        if job is None or job.thread is None:
            return True
        job.thread.join(timeout)
        return job.done

    def close(self) -> None:
        with self._lock:
            job = self._job
            self._drop_job()
            served, self.served, self.active = self.served, None, EAGER
        if job is not None and job.thread is not None:
            job.thread.join(5.0)
        if served is not None:
            served.close()
