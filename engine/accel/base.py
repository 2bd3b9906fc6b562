"""The back-end interface (:class:`Backend`) and the registry that finds back ends by name.

A :class:`Backend` takes a loaded :class:`~engine.diffusion.model_bundle.ModelBundle`
and an :class:`~engine.accel.spec.AccelSpec` (the shapes it must serve) and
returns an :class:`~engine.accel.accelerated.Accelerated` (the callables).

Back ends are found by name through :func:`get_backend`; :func:`available`
says, for each, why it cannot run here (``None`` when it can).  The built-in
names are the ``accel`` parameter's choices (``ACCEL_BACKENDS`` in
:mod:`engine.params.catalog`, declared there once); each is resolved lazily
(``"module:attribute"``), so importing this module imports no back end.  A
back end may be added or replaced with :func:`register`.
"""

from __future__ import annotations

import importlib
import threading
from abc import ABC, abstractmethod
from typing import Callable

from ..params.catalog import ACCEL_BACKENDS
from .accelerated import Accelerated
from .cache import AccelBuildError, Cancel, ProgressFn
from .spec import AccelSpec

__all__ = ["Backend", "available", "backend_names", "get_backend", "register"]


class Backend(ABC):
    """An acceleration back end.  Subclasses set ``name`` (the ``accel`` choice)."""

    name: str = ""
    label: str = ""

    def unavailable_reason(self) -> str | None:
        """Why this back end cannot run on this machine, in words a user can act
        on; None when it can.  Cheap: no model work."""
        return None

    @abstractmethod
    def prepare(self, bundle, spec: AccelSpec, progress: ProgressFn | None = None,
                cancel: Cancel | None = None) -> Accelerated:
        """Build (or load from the engine cache) everything needed to serve
        ``spec``, then return the callables.  Runs on a background thread while
        another back end serves frames: it must not change ``bundle``'s modules,
        should call ``progress(fraction, message)`` and return soon after
        ``cancel`` is set (raising :class:`BuildCancelled`).  Failures raise
        :class:`AccelBuildError` with a one-line message."""


# Where each of the ``accel`` parameter's choices lives, in the order the catalog lists them.
_BUILTIN: dict[str, str] = dict(zip(ACCEL_BACKENDS, (
    "engine.accel.eager:EagerBackend",
    "engine.accel.compiled:CompiledBackend",
    "engine.accel.onnxruntime_backend:OnnxRuntimeBackend",
    "engine.accel.tensorrt_backend:TensorRTBackend",
    "engine.accel.tensorrt_backend:TensorRTRTXBackend",
), strict=True))
_registry: dict[str, Callable[[], Backend] | str] = dict(_BUILTIN)
_instances: dict[str, Backend] = {}
_lock = threading.Lock()


class _Missing(Backend):
    """Stands in for a back end whose module cannot be imported here."""

    def __init__(self, name: str, reason: str):
        self.name, self._reason = name, reason

    def unavailable_reason(self) -> str | None:
        return self._reason

    def prepare(self, bundle, spec, progress=None, cancel=None) -> Accelerated:
        raise AccelBuildError(f"{self.name}: {self._reason}")


def register(name: str, factory: Callable[[], Backend]) -> None:
    """Make a back end known under ``name`` (replacing any earlier one)."""
    with _lock:
        _registry[name] = factory
        _instances.pop(name, None)


def backend_names() -> tuple[str, ...]:
    return tuple(_registry)


def get_backend(name: str) -> Backend:
    """The back end called ``name``; an unknown name raises KeyError, one that
    cannot be imported here comes back as a stand-in saying why."""
    with _lock:
        if name in _instances:
            return _instances[name]
        if name not in _registry:
            raise KeyError(f"no acceleration back end {name!r}; known: {', '.join(_registry)}")
        target = _registry[name]
    if isinstance(target, str):
        mod_name, _, attr = target.partition(":")
        try:
            factory = getattr(importlib.import_module(mod_name), attr)
        except Exception as e:  # ImportError, or a half-written module: say so, do not crash the show
            backend: Backend = _Missing(name, f"its module could not be loaded ({type(e).__name__}: {e})")
        else:
            backend = factory()
    else:
        backend = target()
    with _lock:
        return _instances.setdefault(name, backend)


def available() -> dict[str, str | None]:
    """Every known back end: None when it can run here, else the reason it cannot."""
    out: dict[str, str | None] = {}
    for name in backend_names():
        try:
            out[name] = get_backend(name).unavailable_reason()
        except Exception as e:
            out[name] = f"{type(e).__name__}: {e}"
    return out
