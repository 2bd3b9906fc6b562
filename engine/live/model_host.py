"""Loading a model while the show runs: in the background, with progress and cancel.

The live pipeline starts without a model (the output shows the input meanwhile), and
every control surface serves from the first second. :class:`ModelHost` loads the
model on its own thread, builds the generator and hands it to ``swap`` (the
pipeline's ``set_generator``), which puts it in between two frames. A failure or a
cancel leaves whatever ran before running. The console, ``dreamdeck live`` and the
soak run all load through this one object; :meth:`ModelHost.state` is what they show.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from typing import Any, Callable

from ..memory import return_freed_memory
from ..torch_threads import pinned


@dataclass(frozen=True)
class ModelState:
    running: str | None = None  # the model painting now (None: none yet, the input shows)
    loading: str | None = None  # the model being loaded
    attempted: str | None = None  # the model the last load asked for (the one an error is about)
    stage: str = ""  # what the loader is doing, e.g. "text encoder"
    fraction: float = 0.0  # 0..1 of the load
    error: str | None = None  # why the last load failed (one line), until the next load starts
    load_s: float | None = None  # how long the last successful load took
    # optional extras the last load went on without (engine.diffusion.model_extras.LoadWarning: option, text)
    warnings: tuple = ()
    loads: int = 0  # loads finished (ok or failed): a counter to wait on

    @property
    def ready(self) -> bool:
        return self.running is not None and self.loading is None

    def describe(self) -> str:
        """The model's part of a status line."""
        if self.loading:
            return f"model {self.loading} loading {self.fraction * 100:.0f}% {self.stage}".rstrip()
        if self.error:
            return f"model {self.running or 'none'} (loading {self.attempted} failed: {self.error})"
        return f"model {self.running} ready" if self.running else "model none"


class ModelHost:
    """One background model load at a time; the result is swapped into the show between frames."""

    def __init__(self, swap: Callable[[Any], None], make_generator: Callable[[Any], Any], load_options: dict | None = None,
                 on_change: Callable[[ModelState], None] | None = None, load: Callable[..., Any] | None = None):
        self._swap = swap
        self.make_generator = make_generator
        self.load_options = dict(load_options or {})
        self.on_change = on_change  # called on the loading thread at each progress step and at the end
        self._load = load  # engine.model_family.load_any unless given (tests)
        self._lock = threading.Lock()
        self._starting = threading.Lock()
        self._state = ModelState()
        self._thread: threading.Thread | None = None
        self._cancel = threading.Event()

    def state(self) -> ModelState:
        with self._lock:
            return self._state

    def _update(self, **changes) -> None:
        with self._lock:
            self._state = replace(self._state, **changes)
            state = self._state
        if self.on_change is not None:
            self.on_change(state)

    @property
    def busy(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def adopt(self, name: str, generator) -> None:
        """Put an already built generator on air (e.g. a test's identity stage)."""
        self._swap(generator)
        self._update(running=name, error=None)

    def load(self, name: str) -> bool:
        """Start loading ``name``; False (and nothing changes) while another load runs."""
        with self._starting:  # two surfaces asking at once start one load, not two
            if self.busy and self.state().loading is None and self._thread is not threading.current_thread():
                self._thread.join(5.0)  # the last load has ended and its thread is tidying up: not busy, wait
            if self.busy:
                return False
            self._cancel = threading.Event()
            self._update(loading=name, attempted=name, stage="starting", fraction=0.0, error=None, warnings=())
            # not a daemon: a load still running when the program ends is cancelled and joined at exit, instead
            # of torch being torn down under it (C++ "terminate called without an active exception")
            self._thread = threading.Thread(target=pinned(self._work), args=(name, self._cancel),
                                            name="dreamdeck-model-load", daemon=False)
            self._thread.start()
        return True

    def cancel(self) -> None:
        self._cancel.set()

    def wait(self, timeout: float | None = None) -> bool:
        """Join the load in progress; True when none runs any more."""
        t = self._thread
        if t is not None:
            t.join(timeout)
        return not self.busy

    def _work(self, name: str, cancel: threading.Event) -> None:
        try:
            self._load_and_swap(name, cancel)
        finally:
            return_freed_memory()  # a load's temporaries (state dicts, a failed half-model) go back to the system

    def _load_and_swap(self, name: str, cancel: threading.Event) -> None:
        from ..diffusion.model_sources import ModelLoadError
        from ..model_family import load_any

        t0 = time.monotonic()
        load = self._load or load_any
        try:
            # a missing optional extra (tiny VAE, LCM-LoRA offline) is skipped and reported, never fatal
            bundle = load(name, progress=lambda stage, f: self._update(stage=stage, fraction=f), cancel=cancel,
                          warn=lambda w: self._update(warnings=self.state().warnings + (w,)), **self.load_options)
            if cancel.is_set():
                raise ModelLoadError("cancelled")
            generator = self.make_generator(bundle)
            if cancel.is_set():
                raise ModelLoadError("cancelled")
        except Exception as e:
            text = str(e).strip()
            msg = text.splitlines()[0] if text else type(e).__name__
            if not isinstance(e, (ModelLoadError, ValueError)):
                msg = f"{type(e).__name__}: {msg}"
            self._update(loading=None, stage="", error=msg, loads=self.state().loads + 1)
            return
        self._swap(generator)
        self._update(running=name, loading=None, stage="", fraction=1.0, load_s=time.monotonic() - t0,
                     loads=self.state().loads + 1)


def stream_generator(store, t_index_list=None) -> Callable[[Any], Any]:
    """bundle -> the live stage of its family (diffusion or styles) with the registry's settings now
    (a ValueError says what the model cannot take)."""

    def make(bundle):
        from ..model_family import make_stage

        return make_stage(bundle, store.snapshot().values, t_index_list=t_index_list)

    return make
