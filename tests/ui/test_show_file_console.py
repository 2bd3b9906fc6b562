"""Issue 15's acceptance: the console's show comes back after a crash (SIGKILL), flags typed on the command
line win over it, and a restart never comes up black. The real console, in processes, driven over OSC."""

import json
import queue
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from console_env import console_env
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket
from waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
LOOK = {"prompt/1/text": "neon jellyfish", "prompt/2/text": "rusty robot", "prompt/2/weight": 0.5, "strength": 0.75,
        "steps": 3, "guidance": "full", "delta": 0.625, "seed/1/value": 1234, "audio_azimuth": 45.0,
        "output_fps": 24}


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Console:
    """``dreamdeck gui`` in a process, its output read on a thread."""

    def __init__(self, home: Path, *args: str, quit_after: float | None = None):
        env = console_env(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), DREAMDECK_DATA_DIR=str(home / "data"),
                          QT_QPA_PLATFORM="offscreen")
        env.pop("DREAMDECK_SCREENSHOT", None)
        if quit_after is not None:  # the console quits by itself after that long
            env["DREAMDECK_SCREENSHOT"] = f"{home / 'shot.png'}@{quit_after}"
        self.port = _free_udp_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "app.cli", "gui", "--source", "pattern", "--osc-port",
                                      str(self.port), *args], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_line(self, start: str, timeout: float = 60) -> str:
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line starting {start!r} in {timeout} s: {self.seen[-20:]}") from None
            if line is None:
                raise AssertionError(f"the console ended ({self.proc.wait()}) before {start!r}: {self.seen[-20:]}")
            self.seen.append(line)
            if line.startswith(start):
                return line

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)


class Osc:
    """One UDP socket: sends to the console and reads its answers."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))

    def send(self, port: int, address: str, *args) -> None:
        msg = OscMessageBuilder(address=address)
        for v in args:
            msg.add_arg(v)
        self.sock.sendto(msg.build().dgram, ("127.0.0.1", port))

    def ask(self, port: int, name: str, timeout: float = 5.0):
        address = f"/dreamdeck/{name}"
        self.send(port, address, "?")
        self.sock.settimeout(timeout)
        while True:
            for m in OscPacket(self.sock.recv(65535)).messages:
                if m.message.address == address:
                    return m.message.params[0]

    def close(self) -> None:
        self.sock.close()


def _show(home: Path) -> dict:
    path = home / "data" / "show.json"
    return json.loads(path.read_text())["values"] if path.exists() else {}


def _matches(values: dict, look: dict) -> bool:
    return all(values.get(k.replace("/", ".")) == pytest.approx(v) if isinstance(v, float)
               else values.get(k.replace("/", ".")) == v for k, v in look.items())


def test_the_show_comes_back_after_sigkill_and_typed_flags_win(tmp_path):
    osc = Osc()
    first = Console(tmp_path)
    try:
        first.wait_line("dreamdeck: console up")
        for name, value in LOOK.items():
            osc.send(first.port, f"/dreamdeck/{name}", value)
        osc.send(first.port, "/dreamdeck/blackout", 1)  # on air black when it dies
        wait_for(lambda: _matches(_show(tmp_path), {**LOOK, "blackout": True}), timeout=20,
                 what=lambda: f"the look in the show file: {_show(tmp_path)}")
        before = _show(tmp_path)  # the whole registry, as last saved before the crash
        first.proc.kill()  # SIGKILL: no exit handler runs
        assert first.proc.wait(10) == -9
    finally:
        first.close()

    # the next start: the look is back, the command line's guidance scale wins, the output is not black
    second = Console(tmp_path, "--guidance-scale", "2.5", quit_after=4)
    try:
        second.wait_line("dreamdeck: console up")
        got = {name.replace("/", "."): osc.ask(second.port, name) for name in [*LOOK, "guidance_scale", "blackout"]}
        assert second.proc.wait(60) == 0, second.seen[-20:]
    finally:
        second.close()
        osc.close()
    assert _matches(got, {**LOOK, "guidance_scale": 2.5}), got
    assert got["blackout"] in (False, 0), got
    at_exit = _show(tmp_path)  # the show as it ended is saved at exit
    assert _matches(at_exit, {**LOOK, "guidance_scale": 2.5, "blackout": False}), at_exit
    assert not list((tmp_path / "data").glob("*.bad*")) and not list((tmp_path / "data").glob(".*.tmp"))
    # every value came back, but the one typed on the command line and the safety switch that never comes back on
    differ = {n: (v, at_exit.get(n)) for n, v in before.items() if at_exit.get(n) != v}
    assert set(differ) == {"guidance_scale", "blackout"} and len(at_exit) == len(before), differ

    # --fresh: the defaults, whatever was saved
    fresh = Console(tmp_path, "--fresh", quit_after=2)
    osc = Osc()
    try:
        fresh.wait_line("dreamdeck: console up")
        assert osc.ask(fresh.port, "prompt/1/text") == "" and osc.ask(fresh.port, "steps") == 2
        assert fresh.proc.wait(60) == 0
    finally:
        fresh.close()
        osc.close()
