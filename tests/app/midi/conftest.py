"""Real virtual MIDI ports for the MIDI tests: a JACK server on its dummy driver (no sound
card, no ALSA sequencer needed) and python-rtmidi's JACK API.

The server gets a unique name (``-n``) and ``JACK_DEFAULT_SERVER`` points every client
of this test run at it, so parallel runs and a user's own JACK never collide; it stops
when the MIDI tests end (package scope: the audio tests' PortAudio must never meet it).  Needs the ``jackd2`` system package (see .ci/run) and the
``midi`` extra (in ``.[test]``); without them these tests skip on a dev machine and fail
in CI.
"""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import time

import pytest
from waiting import wait_for

from system_deps import skip_unless_required

JACK_API = "UNIX_JACK"
# JACK names client sockets by client name only, so parallel test runs use their own names
CONTROLLER_CLIENT = f"test-controller-{os.getpid()}"
DREAMDECK_CLIENT = f"dreamdeck-client-{os.getpid()}"
_names = itertools.count()


def _wait_for_server(name: str, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    """Until the server answers jack_lsp, or has exited (the caller says why)."""
    def up():
        return proc.poll() is not None or subprocess.run(["jack_lsp", "-s", name], capture_output=True, timeout=5).returncode == 0

    wait_for(up, timeout, what=f"jackd {name} to start", step=0.05)


@pytest.fixture(scope="package")
def jack_server(tmp_path_factory):
    try:
        import mido  # noqa: F401
        import rtmidi
    except ImportError:
        skip_unless_required("the MIDI tests need the midi extra: pip install -e '.[test]' (mido, python-rtmidi)")
    if rtmidi.API_UNIX_JACK not in rtmidi.get_compiled_api():
        skip_unless_required("this python-rtmidi build has no JACK support")
    if not (shutil.which("jackd") and shutil.which("jack_lsp")):
        skip_unless_required("the MIDI tests need JACK for virtual MIDI ports: apt-get install jackd2")
    name = f"dreamdeck-jack-{os.getpid()}"  # (client and server names share one socket namespace)
    log = tmp_path_factory.mktemp("jack") / "jackd.log"
    saved = {k: os.environ.get(k) for k in ("JACK_DEFAULT_SERVER", "JACK_NO_START_SERVER", "JACK_NO_AUDIO_RESERVATION")}
    os.environ.update(JACK_DEFAULT_SERVER=name, JACK_NO_START_SERVER="1", JACK_NO_AUDIO_RESERVATION="1")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            # --sync with a long client timeout: the server waits for every client each cycle.  The
            # rtmidi input client runs Python (it needs the GIL) in JACK's process thread; in the
            # default asynchronous mode a busy machine makes it miss cycles, and MIDI events
            # written in a missed cycle are gone.
            ["jackd", "-n", name, "--no-realtime", "--sync", "--timeout", "10000",
             "-d", "dummy", "-r", "48000", "-p", "256"],
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        _wait_for_server(name, proc)
        if proc.poll() is not None:
            skip_unless_required(f"jackd (dummy driver) did not start: {log.read_text(errors='replace')[-500:]}")
        yield name
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.fixture
def controller_port(jack_server):
    """A virtual MIDI output, as a hardware controller would show up: (port, its name)."""
    import mido

    backend = mido.Backend(f"mido.backends.rtmidi/{JACK_API}")
    port = backend.open_output(f"faders-{next(_names)}", virtual=True, client_name=CONTROLLER_CLIENT)
    try:
        names = backend.get_input_names()
        name = next(n for n in names if n.endswith(port.name))
        yield port, name
    finally:
        port.close()


@pytest.fixture
def midi_options(jack_server, tmp_path):
    """MidiController keywords for the tests: the JACK API, this run's client name, mappings in tmp_path."""
    return dict(api=JACK_API, client_name=DREAMDECK_CLIENT, data_dir=tmp_path)


@pytest.fixture
def open_midi(midi_options):
    """open_midi(store, port, *args, **kw): a MidiController (closed after the test) whose JACK
    connection from ``port`` is known to be live."""
    from app.midi import MidiController

    opened = []

    def open_(store, port, *args, **kw):
        ctl = MidiController(store, *args, **{**midi_options, **kw})
        opened.append(ctl)
        _wait_connected(ctl, port)
        return ctl

    yield open_
    for ctl in opened:
        ctl.close()


@pytest.fixture
def midi(store, controller_port, open_midi):
    """A MidiController listening to ``controller_port``."""
    port, name = controller_port
    return open_midi(store, port, port_name=name)


def _wait_connected(ctl, port, timeout: float = 30.0) -> None:
    """Ping until a message gets through: JACK makes a new connection live a few cycles after
    jack_connect returns, and events sent before that are dropped.  (Pitch bend on channel 16
    is handled and ignored by DreamDeck.)  Then a last message that DreamDeck counts apart (an
    unmapped note-off, counted as "received") comes after every ping: once it is handled, no
    earlier ping is still on its way to be counted as one of a test's messages."""
    import mido

    ping = mido.Message("pitchwheel", channel=15, pitch=0)
    base = ctl.stats()["handled"]
    deadline = time.monotonic() + timeout
    while ctl.stats()["handled"] == base:
        if time.monotonic() > deadline:
            raise AssertionError("the MIDI connection never came up")
        port.send(ping)
        try:  # a ping sent before the connection was live never arrives: send another
            wait_for(lambda: ctl.stats()["handled"] > base, timeout=0.2, step=0.002)
        except AssertionError:
            pass
    received = ctl.stats()["received"]
    port.send(mido.Message("note_off", channel=15, note=127, velocity=0))
    wait_for(lambda: ctl.stats()["received"] > received, timeout, what="the last ping", step=0.002)


def _send(ctl, port, *messages, timeout: float = 10.0) -> None:
    """Send ``messages`` through the real port and wait until DreamDeck has handled them all."""
    before = ctl.stats()["handled"]
    for m in messages:
        port.send(m)
    wait_for(lambda: ctl.stats()["handled"] >= before + len(messages), timeout, step=0.002,
             what=lambda: f"{len(messages)} MIDI messages to be handled; {ctl.stats()['handled'] - before} were")


@pytest.fixture
def send():
    """send(controller, port, *messages): deliver through JACK and wait until handled."""
    return _send


@pytest.fixture
def wait_connected():
    return _wait_connected
