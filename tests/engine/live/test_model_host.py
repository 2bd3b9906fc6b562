"""ModelHost: one background load at a time, swapped in on success, the old model kept on failure."""

import threading

from waiting import wait_for

from engine.diffusion.model_extras import LoadWarning
from engine.live.model_host import ModelHost


class Swaps(list):
    def __call__(self, generator):
        self.append(generator)


def test_a_real_tiny_load_is_swapped_in_and_a_failed_one_keeps_it(tiny_bundle):
    swaps = Swaps()
    host = ModelHost(swaps, make_generator=lambda bundle: ("stream", bundle.name))
    assert host.load("tiny")
    assert host.wait(60) and host.state().ready and host.state().running == "tiny"
    assert swaps == [("stream", "tiny")] and host.state().load_s > 0
    assert host.load("nobody/none")  # offline: the hub id cannot be fetched
    assert host.wait(60)
    s = host.state()
    assert s.running == "tiny" and s.error and s.attempted == "nobody/none" and len(swaps) == 1
    assert "nobody/none failed" in s.describe() and len(s.error.splitlines()) == 1


def test_one_load_at_a_time_and_cancel_keeps_what_runs():
    release = threading.Event()
    swaps = Swaps()

    def slow(name, progress, cancel, warn, **options):
        progress("downloading", 0.5)
        release.wait(10)
        return name

    host = ModelHost(swaps, make_generator=lambda b: b, load=slow)
    host.adopt("first", "first-generator")
    assert host.load("second")
    wait_for(lambda: host.state().stage == "downloading")
    assert not host.load("third") and host.state().loading == "second"  # refused while busy
    host.cancel()
    release.set()
    assert host.wait(10)
    s = host.state()
    assert swaps == ["first-generator"] and s.running == "first" and s.error == "cancelled" and s.loads == 1


def test_extras_skipped_offline_are_kept_as_warnings_and_not_fatal():
    def warns(name, progress, cancel, warn, **options):
        warn(LoadWarning("tiny_vae", "tiny VAE skipped: not cached"))
        return name

    changes = []
    host = ModelHost(Swaps(), make_generator=lambda b: b, load=warns, on_change=changes.append)
    host.load("folder")
    assert host.wait(10)
    s = host.state()
    assert s.ready and [w.option for w in s.warnings] == ["tiny_vae"] and changes[-1] == s
    host.load("folder")  # a new load starts with no warnings of its own yet
    assert host.wait(10) and len(host.state().warnings) == 1
