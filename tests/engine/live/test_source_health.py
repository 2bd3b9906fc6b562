"""The live pipeline's parts coming and going: a source named the moment it goes wrong (also when it
hangs inside read()), a model swapped out released."""

import threading
import weakref

from live_parts import SolidSource
from waiting import wait_for

from engine.live.pipeline import IdentityStage, LivePipeline
from engine.params.catalog import engine_store


class HangingSource(SolidSource):
    """Delivers, then blocks inside read() (a network camera that stopped answering) until released."""

    def __init__(self):
        super().__init__(name="rtsp:stage-cam")
        self.hang = threading.Event()
        self.release = threading.Event()

    def read(self):
        if self.hang.is_set():
            self.release.wait(30)
        return super().read()


def test_a_source_that_hangs_in_read_is_named_and_clears_when_it_delivers_again():
    store = engine_store()
    store.update({"output_size": "512x512", "output_fps": 30})
    src = HangingSource()
    p = LivePipeline(store, IdentityStage(64), src)
    p.source_stall_s = 0.3
    p.start()
    try:
        wait_for(lambda: p.snapshot_metrics().frames_in > 3, what="frames")
        assert p.snapshot_metrics().source_problem is None
        src.hang.set()
        m = wait_for(lambda: (lambda m: m if m.source_problem else None)(p.snapshot_metrics()), what="the hang named")
        assert m.source == "rtsp:stage-cam" and m.source_problem.startswith("no frame for")
        src.hang.clear()
        src.release.set()
        wait_for(lambda: p.snapshot_metrics().source_problem is None, what="the source back")
    finally:
        src.release.set()
        p.stop()


class ClosingStage(IdentityStage):
    def __init__(self, size):
        super().__init__(size)
        self.closed = threading.Event()

    def close(self):
        self.closed.set()


def test_a_model_swapped_out_is_closed_on_the_generate_thread():
    store = engine_store()
    store.update({"output_size": "512x512", "output_fps": 30})
    first, second = ClosingStage(64), ClosingStage(64)
    p = LivePipeline(store, first, SolidSource())
    p.start()
    try:
        wait_for(lambda: p.snapshot_metrics().frames_generated > 2, what="frames from the first model")
        gone = weakref.ref(first)
        p.set_generator(second)
        wait_for(first.closed.is_set, what="the first model closed")  # its back-end threads and sessions go with it
        del first
        wait_for(lambda: gone() is None, what="nothing in the pipeline holding the old model")  # its memory goes too
        n = p.snapshot_metrics().frames_generated
        wait_for(lambda: p.snapshot_metrics().frames_generated > n + 2, what="frames from the second model")
        assert not second.closed.is_set()
    finally:
        p.stop()
