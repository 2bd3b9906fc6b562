"""Helpers for the OSC tests: peers in other processes, an in-process feedback listener, waits."""

from __future__ import annotations

import json
import select
import socket
import subprocess
import sys
import time
from pathlib import Path

from pythonosc.osc_packet import OscPacket
from waiting import wait_for  # noqa: F401  (the suite's one wait_for, re-exported: tests import it from here)

PEER = Path(__file__).with_name("osc_peer.py")


class Peer:
    """An OSC peer process bound to ``ip`` (see osc_peer.py for its commands)."""

    def __init__(self, ip: str = "127.0.0.1"):
        self.ip = ip
        self.proc = subprocess.Popen([sys.executable, str(PEER), ip], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, bufsize=1)
        self.port = self._read(20)["port"]
        self.address = (ip, self.port)

    def _read(self, timeout: float) -> dict:
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            raise AssertionError(f"the OSC peer process did not answer in {timeout} s")
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"the OSC peer process ended (exit status {self.proc.poll()})")
        return json.loads(line)

    def call(self, wait: float = 10.0, **cmd) -> dict:
        """Send one command; ``wait`` is how long its answer may take."""
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read(wait)

    def send(self, to, address: str, *args) -> None:
        assert self.call(op="send", to=list(to), address=address, args=list(args)) == {"ok": True}

    def recv(self, timeout: float = 3.0) -> list | None:
        r = self.call(wait=timeout + 5, op="recv", timeout=timeout)
        return None if r.get("timeout") else r["messages"]

    def ask(self, to, address: str, *args, timeout: float = 3.0) -> list:
        self.send(to, address, *args)
        got = self.recv(timeout)
        assert got is not None, f"no answer to {address} {args}"
        return got

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write('{"op": "quit"}\n')
                self.proc.stdin.flush()
                self.proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self.proc.stdin.close()
        self.proc.stdout.close()


class Listener:
    """A feedback target in this process (it only receives, so it cannot starve the server)."""

    def __init__(self, ip: str = "127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.address = self.sock.getsockname()

    def recv(self, timeout: float = 3.0) -> list | None:
        """The messages of the next datagram, as [address, args] lists; None on timeout."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65535)
        except socket.timeout:
            return None
        return [[tm.message.address, tm.message.params] for tm in OscPacket(data).messages]

    def expect(self, address: str, timeout: float = 3.0) -> list:
        """Skip datagrams until one holds ``address``; return that datagram's messages."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.recv(max(0.01, deadline - time.monotonic()))
            if got is None:
                raise AssertionError(f"no feedback for {address} in {timeout} s")
            if any(m[0] == address for m in got):
                return got

    def close(self) -> None:
        self.sock.close()
