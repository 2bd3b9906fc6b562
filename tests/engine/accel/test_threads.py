"""Threads on the CPU: ONNX Runtime's pool and torch's OpenMP workers stay out of each other's way.

On 2 cores, torch's OpenMP workers spin for a while after each parallel
operator; an ONNX Runtime run that starts then finds its cores taken.  So while
ONNX Runtime serves a whole frame, the stream's own tensor code runs on one
torch thread, and the long-lived threads that run torch set their count when
they start (a thread's first torch call copies whatever count was set last,
anywhere).  The speed this buys is measured by ``dreamdeck bench --accel``;
these tests check the behaviour.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from types import SimpleNamespace

import pytest
import torch
from waiting import ManualClock

from engine.accel import AccelSpec, Accelerated, get_backend
from engine.accel.onnxruntime_backend import LEVELS, fastest, session_options
from engine.diffusion.stream import DiffusionStream, StreamSettings
from engine.media.test_pattern import pattern_frame
from engine.torch_threads import pinned, torch_threads

SIZE = 64


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture
def two_threads():
    with torch_threads(2):
        yield


def test_torch_threads_sets_and_puts_back_even_on_an_error(two_threads):
    with torch_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2
    with pytest.raises(RuntimeError):
        with torch_threads(1):
            raise RuntimeError("boom")
    assert torch.get_num_threads() == 2
    with torch_threads(None):
        assert torch.get_num_threads() == 2


def _first_count_on_a_new_thread(target_wrapper=lambda f: f) -> int:
    seen = []
    t = threading.Thread(target=target_wrapper(lambda: seen.append(torch.get_num_threads())))
    t.start()
    t.join()
    return seen[0]


def test_a_pinned_thread_keeps_its_creators_count_whatever_another_thread_set(two_threads):
    start = pinned(lambda f: f())  # made here, with 2
    other = threading.Thread(target=lambda: torch.set_num_threads(1))  # what the audio render thread does
    other.start()
    other.join()
    # torch copies the last count set anywhere into a thread's first call: the hazard pinned() avoids
    assert _first_count_on_a_new_thread() == 1
    seen = []
    t = threading.Thread(target=start, args=(lambda: seen.append(torch.get_num_threads()),))
    t.start()
    t.join()
    assert seen == [2]


def _frames(n=4):
    return [pattern_frame(i / 10, SIZE, SIZE) for i in range(n)]


def _recording(acc: Accelerated, seen: list) -> Accelerated:
    """``acc`` with every served call noting torch's thread count at that moment."""
    def rec(fn):
        def run(*a, **k):
            seen.append(torch.get_num_threads())
            return fn(*a, **k)
        return run
    return replace(acc, unet=rec(acc.unet), encoders={k: rec(v) for k, v in acc.encoders.items()},
                   decoders={k: rec(v) for k, v in acc.decoders.items()})


def test_while_onnxruntime_serves_a_whole_frame_torch_runs_on_one_thread(tiny_bundle, two_threads):
    s = DiffusionStream(tiny_bundle, StreamSettings(size=SIZE, prompts=(("a cat", 1.0),)))
    acc = get_backend("onnxruntime").prepare(tiny_bundle, s.accel_spec())
    assert acc.torch_threads == 1 and "threads" in acc.detail
    seen: list[int] = []
    try:
        s.accel.install("onnxruntime", _recording(acc, seen))
        seen_in_glue = []
        to_tensor = s.to_tensor
        s.to_tensor = lambda frames: (seen_in_glue.append(torch.get_num_threads()), to_tensor(frames))[1]
        outs = [s.process_one(f) for f in _frames()]
        assert outs[-1] is not None and s.accel.active == "onnxruntime"
        assert seen and set(seen) == {1} and set(seen_in_glue) == {1}
        assert torch.get_num_threads() == 2  # put back between frames: eager, other threads, the caller
    finally:
        acc.close()


def test_a_back_end_that_serves_part_of_a_frame_leaves_torch_its_threads(tiny_bundle, two_threads):
    """torch.compile-style exact shapes: full CFG's batch is not served, so the module runs in
    that frame and needs every thread."""
    s = DiffusionStream(tiny_bundle, StreamSettings(size=SIZE, prompts=(("a cat", 1.0),)))
    eager = get_backend("eager").prepare(tiny_bundle, s.accel_spec())
    seen: list[int] = []
    partial = replace(_recording(eager, seen), torch_threads=1, unet_shapes={(2, SIZE, SIZE)})
    s.accel.install("eager", partial)
    for f in _frames():
        s.process_one(f)
    assert seen and set(seen) == {2}
    whole = replace(partial, unet_shapes=None)
    s.accel.install("eager", whole)
    seen.clear()
    for f in _frames():
        s.process_one(f)
    assert seen and set(seen) == {1}


def test_onnxruntime_workers_spin_only_during_a_run():
    so = session_options(2)
    assert so.get_session_config_entry("session.intra_op.allow_spinning") == "1"
    assert so.get_session_config_entry("session.force_spinning_stop") == "1"
    assert so.intra_op_num_threads == 2


@pytest.fixture
def timer(monkeypatch):
    """The clock fastest() times with, moved only by the models below: the choice is exact."""
    import engine.accel.onnxruntime_backend as ort_backend

    clock = ManualClock()
    monkeypatch.setattr(ort_backend, "time", SimpleNamespace(perf_counter=clock))
    return clock


class _Slow:
    """A model whose every run takes ``delay`` seconds on ``clock``."""

    def __init__(self, level, delay, clock):
        self.level, self.delay, self.clock, self.calls = level, delay, clock, 0

    def __call__(self, *args):
        self.calls += 1
        self.clock.advance(self.delay)


def test_the_faster_optimisation_level_is_kept(timer):
    made = {}

    def make(level):
        made[level] = _Slow(level, 0.004 if level == "extended" else 0.012, timer)
        return made[level]

    assert fastest(make, (None,)).level == "extended"
    assert set(made) == set(LEVELS) and all(m.calls >= 7 for m in made.values())


def test_a_model_too_slow_to_time_gets_full_optimisation_and_no_second_session(timer):
    made = {}

    def make(level):
        made[level] = _Slow(level, 0.05, timer)
        return made[level]

    assert fastest(make, (None,), budget_s=0.01).level == "all"
    assert set(made) == {"all"} and made["all"].calls == 1  # a big model is never loaded twice


def test_a_level_that_fails_is_dropped_not_the_back_end(timer):
    def make(level):
        if level == "extended":
            raise RuntimeError("ORT refused the graph")
        return _Slow(level, 0.001, timer)

    assert fastest(make, (None,)).level == "all"


def test_a_cancel_stops_the_timing(timer):
    from engine.accel.cache import BuildCancelled, Cancel

    cancel = Cancel()
    cancel.set()
    with pytest.raises(BuildCancelled):
        fastest(lambda level: _Slow(level, 0.001, timer), (None,), cancel=cancel)


def test_onnxruntime_reports_the_level_each_graph_got(tiny_bundle):
    acc = get_backend("onnxruntime").prepare(tiny_bundle, AccelSpec.for_stream(SIZE, SIZE, 2, size_min=64))
    try:
        for role in ("unet", "vae encoder", "vae decoder"):
            assert any(f"{role} {level}" in acc.detail for level in LEVELS), acc.detail
    finally:
        acc.close()


def test_a_stage_redone_in_eager_after_a_failure_gets_the_threads_back(tiny_bundle, two_threads):
    """ONNX Runtime breaks mid-frame: the stage is redone by the modules, which need every thread."""
    s = DiffusionStream(tiny_bundle, StreamSettings(size=SIZE, prompts=(("a cat", 1.0),)))
    eager = get_backend("eager").prepare(tiny_bundle, s.accel_spec())
    seen: list[int] = []
    unet = tiny_bundle.unet.forward

    def counting(*a, **k):
        seen.append(torch.get_num_threads())
        return unet(*a, **k)

    def broken(*a, **k):
        raise RuntimeError("the back end fell over")

    tiny_bundle.unet.forward = counting
    try:
        s.accel.install("onnxruntime", replace(eager, unet=broken, torch_threads=1))
        out = s.process_one(_frames(1)[0])
        assert s.accel.active == "eager" and "fell over" in (s.accel.last_error or "")
        assert seen and set(seen) == {2} and torch.get_num_threads() == 2
        assert out is None  # the pipeline is still filling: no frame lost to the fault
    finally:
        tiny_bundle.unet.forward = unet
