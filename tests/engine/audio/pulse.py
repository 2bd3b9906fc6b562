"""A private PulseAudio server with a null sink, for tests through real PortAudio.

The server runs in a fresh temporary directory (its socket, pid file and auth
cookie live there), so it never meets a desktop's sound server or another test
run's. This process reaches it through PortAudio's ALSA host and ALSA's
``pulse`` plugin (Debian: libasound2-plugins, a dependency of pulseaudio),
steered by the environment:

* ``PULSE_SERVER=unix:<dir>/native`` and ``PULSE_COOKIE=<dir>/cookie`` for every
  libpulse client (the ALSA plugin inside this process, pactl, parecord);
* the server itself gets ``HOME``/``XDG_RUNTIME_DIR``/``PULSE_RUNTIME_PATH`` = <dir>.

``dd_out`` becomes the default sink and ``dd_out.monitor`` the default source,
so PortAudio's ``default`` device plays into the null sink and records what it
played. PortAudio lists devices only when it starts, so the fixture restarts
PortAudio's device list (engine.audio.devices.refresh) once the server is up.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

import numpy as np
import pytest

from system_deps import skip_unless_required

SINK = "dd_out"
RATE = 48_000


class PulseServer:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="dd-pulse-")
        self.cookie = os.path.join(self.dir, "cookie")
        # JACK_*: keep PortAudio's JACK host API away from any JACK server (the MIDI tests run one in this
        # session): a PortAudio that joined a JACK server which later stops aborts the process when it
        # terminates at exit (pa_jack.c "Terminate: Assertion `err == 0' failed").
        self.env = {"PULSE_SERVER": f"unix:{self.dir}/native", "PULSE_COOKIE": self.cookie,
                    "JACK_DEFAULT_SERVER": f"dd-no-jack-{os.getpid()}", "JACK_NO_START_SERVER": "1"}
        self._saved: dict[str, str | None] = {}
        self._keeper: subprocess.Popen | None = None

    # -- server ----------------------------------------------------------------------
    def start(self, timeout: float = 10.0) -> None:
        senv = dict(os.environ, HOME=self.dir, XDG_RUNTIME_DIR=self.dir, PULSE_RUNTIME_PATH=self.dir,
                    XDG_CONFIG_HOME=self.dir, PULSE_STATE_PATH=self.dir)
        senv.pop("PULSE_SERVER", None)
        cmd = ["pulseaudio", "--daemonize=yes", "--exit-idle-time=-1", "-n", "--disallow-exit", "--system=false",
               "--use-pid-file=yes", "--log-target=stderr",
               f"--load=module-native-protocol-unix socket={self.dir}/native auth-cookie={self.cookie}",
               f"--load=module-null-sink sink_name={SINK} rate={RATE} channels=2"]
        r = subprocess.run(cmd, env=senv, capture_output=True, text=True, timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"pulseaudio did not start: {r.stderr.strip()[-800:]}")
        deadline = time.monotonic() + timeout
        while self.pactl("info", check=False).returncode != 0:
            if time.monotonic() > deadline:
                raise RuntimeError("pulseaudio started but does not answer pactl")
            time.sleep(0.02)
        self.pactl("set-default-sink", SINK)
        self.pactl("set-default-source", f"{SINK}.monitor")
        # An idle null sink sleeps in 2-s steps and notices a new low-latency client only when it next
        # wakes: its first seconds of playback then stall and burst. A desktop always has some client;
        # here a quiet recorder plays that part, and a suspend/resume makes the sink take its pace now.
        self._keeper = subprocess.Popen(
            ["parecord", f"--device={SINK}.monitor", "--raw", "--latency-msec=10", os.devnull],
            env=dict(os.environ, **self.env), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while "protocol-native" not in self.pactl("list", "short", "source-outputs").stdout:
            if time.monotonic() > deadline or self._keeper.poll() is not None:
                raise RuntimeError("parecord cannot record the null sink's monitor")
            time.sleep(0.01)
        self.settle(SINK)

    def settle(self, sink: str) -> None:
        """Make a null sink take its clients' pace now rather than at its next (up to 2 s) wake-up."""
        self.pactl("suspend-sink", sink, "1")
        self.pactl("suspend-sink", sink, "0")

    @property
    def pid(self) -> int | None:
        try:
            return int(open(os.path.join(self.dir, "pid")).read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def kill(self, sig=signal.SIGKILL) -> None:
        """Make the server vanish (as a device does when unplugged) and wait until it is gone."""
        keeper, self._keeper = self._keeper, None
        if keeper is not None:
            keeper.kill()
            keeper.wait()
        pid = self.pid
        if pid is None:
            return
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break  # dead; its parent (init) reaps it in its own time
            except (ProcessLookupError, FileNotFoundError):
                break
            except OSError:
                pass
            time.sleep(0.01)
        for f in ("pid", "native"):
            try:
                os.unlink(os.path.join(self.dir, f))
            except OSError:
                pass

    def pactl(self, *args, check=True) -> subprocess.CompletedProcess:
        return subprocess.run(["pactl", *args], env=dict(os.environ, **self.env), capture_output=True, text=True,
                              timeout=10, check=check)

    # -- this process as a client ----------------------------------------------------------
    def enter(self) -> None:
        for k, v in self.env.items():
            self._saved[k] = os.environ.get(k)
            os.environ[k] = v
        for k in ("PULSE_SINK", "PULSE_SOURCE"):
            self._saved.setdefault(k, os.environ.get(k))
            os.environ.pop(k, None)
        from engine.audio.devices import refresh

        refresh()

    def leave(self) -> None:
        for k, v in self._saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        self._saved.clear()

    def close(self) -> None:
        self.kill()
        self.leave()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- recording the sink --------------------------------------------------------------
    def record(self, path: str) -> "Recording":
        return Recording(self, path)


class Recording:
    """``parecord`` of ``dd_out.monitor`` to raw float32 stereo at 48 kHz (a separate process: no GIL shared)."""

    def __init__(self, server: PulseServer, path: str):
        self.path = path
        self.proc = subprocess.Popen(
            ["parecord", f"--device={SINK}.monitor", "--raw", "--format=float32le", f"--rate={RATE}", "--channels=2",
             "--latency-msec=20", path],
            env=dict(os.environ, **server.env), stderr=subprocess.PIPE)

    def stop(self) -> np.ndarray:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stderr is not None:
            self.proc.stderr.close()
        return np.fromfile(self.path, dtype="<f4").reshape(-1, 2)


def pulse_server():
    """A started server this process is a client of; skips (or fails in CI) without PulseAudio/PortAudio."""
    missing = [t for t in ("pulseaudio", "pactl", "parecord") if shutil.which(t) is None]
    if missing:
        skip_unless_required(f"the live audio tests need PulseAudio ({', '.join(missing)} missing): "
                             "apt install pulseaudio pulseaudio-utils libportaudio2")
    try:
        import sounddevice  # noqa: F401
    except OSError as e:
        skip_unless_required(f"the live audio tests need PortAudio ({e}): apt install libportaudio2")
    server = PulseServer()
    server.start()
    server.enter()
    return server


@pytest.fixture
def pulse():
    """A private PulseAudio server with the null sink ``dd_out`` (a fixture: import it into a conftest or test)."""
    server = pulse_server()
    try:
        yield server
    finally:
        server.close()
