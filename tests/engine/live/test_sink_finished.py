"""A sink that has ended for good (SinkFinished) is reported once and never reopened; a sink's idle() runs
while no frame comes; a notice it has after opening goes to the fault log once."""

import time

import numpy as np
from waiting import wait_for

from engine.live.contracts import SinkFinished
from engine.live.live_metrics import LiveMetrics
from engine.live.sink_runner import SinkRunner


class EndingSink:
    name = "ending"
    notice = "h264_nvenc would not start: encoding with libx264 on the CPU instead"

    def __init__(self, ends_after=3):
        self.opens = self.sent = self.idles = self.closes = 0
        self.ends_after = ends_after

    def availability(self):
        return None

    def open(self, w, h, fps):
        self.opens += 1

    def send(self, image, t):
        self.sent += 1
        if self.sent >= self.ends_after:
            raise SinkFinished("recording stopped: the disk is full; show.mp4 keeps the 0.1 s recorded")

    def idle(self):
        self.idles += 1

    def close(self):
        self.closes += 1


def test_a_finished_sink_is_said_once_and_never_reopened():
    metrics = LiveMetrics()
    sink = EndingSink()
    runner = SinkRunner(sink, 8, 8, 30.0, metrics, retry_s=0.05)
    runner.start()
    image = np.zeros((8, 8, 3), np.uint8)
    try:
        wait_for(lambda: sink.idles >= 2, what="idle() while no frame comes")
        for k in range(10):
            runner.offer(image, float(k))
            wait_for(lambda: sink.sent >= min(k + 1, sink.ends_after) or runner.finished, what="the frame taken")
        wait_for(lambda: runner.finished is not None, what="the sink to finish")
        for k in range(5):  # frames still come: nothing is reopened, nothing said again
            runner.offer(image, 10.0 + k)
            time.sleep(0.06)  # (an absence: only time shows it) more than a retry period each
    finally:
        runner.stop()
    faults = metrics.snapshot().faults
    assert sink.opens == 1 and sink.sent == 3 and sink.closes == 1
    assert metrics.sinks["ending"] == ("finished: recording stopped: the disk is full; show.mp4 keeps the 0.1 s "
                                       "recorded")
    assert sum("the disk is full" in f for f in faults) == 1
    assert sum("would not start" in f for f in faults) == 1
    assert runner.failures == 0
