"""OSC feedback: every registry change, from any surface, sent to one host:port.

* One ``update()`` that changed one value -> one OSC message at the parameter's address
  (in its own unit, see :func:`namespace.value_to_osc`).  One that changed several (a
  preset recall, an OSC bundle) -> ONE bundle (split only past ``max_datagram`` bytes).
* A preset recall's crossfade writes the registry 60 times a second; a surface needs
  far less.  Its in-between writes (source marked ``fade_step``, see
  app/presets/recall.py ``FadeStep``) go out at most ``step_rate`` (10) times a
  second, each bundle carrying every value changed since the last one; the writes
  that start and end a recall, and every other change, go out at once, with any
  held fade values in the same bundle.  So a recall is: one bundle at its start, at
  most 10 a second while it fades, one with the final values at its end.  Held values
  also go out with the next change of any kind, or ``flush()``.
* Loop-safe: a change whose source is the feedback target itself is not sent back (the
  surface already shows it; echoing makes TouchOSC faders stutter).  OSC writes carry
  the sender's ``(ip, port)`` as their source.  ``echo_guard="address"`` (default)
  compares ip and port, which is exact when the surface sends from the port it listens
  on (Open Stage Control, python-osc peers, TouchOSC with matching ports);
  ``echo_guard="host"`` suppresses every change from the target's IP, for surfaces that
  send from a random port.
* Sent from the thread that wrote the registry, on a NON-BLOCKING UDP socket: a sendto
  of a few hundred bytes is microseconds, never waits (a full socket buffer drops the
  datagram and counts it, as UDP would anyway), keeps the order of changes, and needs
  no extra thread to start, stop and leak.  A queue + sender thread would add latency,
  a lifecycle and a place to grow without bound, for no gain at these sizes.
* ``norm=True`` adds ``<address>/norm`` (0..1) next to each value, for surfaces whose
  controls are bound to the normalised addresses.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Callable

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message_builder import OscMessageBuilder

from engine.params.registry import Kind, ParamStore

from . import namespace as ns
from .counters import Counters, RateLimitedLog
from .addresses import OscConfigError, normalise_ip

log = logging.getLogger("dreamdeck.osc.feedback")


def parse_target(text: str) -> tuple[str, int]:
    """``HOST:PORT`` (``[v6]:PORT`` for IPv6) -> (host, port); OscConfigError if malformed."""
    host, sep, port = text.strip().rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise OscConfigError(f"OSC feedback target must be HOST:PORT (e.g. 192.168.1.20:9001); got {text!r}")
    return host, int(port)


class OscFeedback:
    def __init__(self, store: ParamStore, host: str, port: int, *, echo_guard: str = "address",
                 norm: bool = False, max_datagram: int = 8192, log_interval: float = 5.0,
                 step_rate: float | None = 10.0, clock: Callable[[], float] = time.monotonic):
        """``step_rate``: the most bundles a second of a fade's in-between values (None: every one)."""
        if echo_guard not in ("address", "host"):
            raise ValueError("echo_guard is 'address' or 'host'")
        if step_rate is not None and not step_rate > 0:
            raise ValueError(f"step_rate must be more than 0 bundles a second, or None to send every step; got {step_rate}")
        try:
            family, _, _, _, sockaddr = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)[0]
        except (socket.gaierror, UnicodeError) as e:
            raise OscConfigError(f"OSC feedback host {host!r} is unknown: {e}") from None
        self.store = store
        self.target: tuple[str, int] = (sockaddr[0], sockaddr[1])
        self._target_ip = normalise_ip(sockaddr[0])
        self.echo_guard = echo_guard
        self.norm = norm
        self.max_datagram = max_datagram
        self.step_interval = 0.0 if step_rate is None else 1.0 / step_rate
        self.clock = clock
        self._lock = threading.RLock()  # the held fade values, the time of the last send, and the order of sends
        self._held: dict[str, Any] = {}
        self._last_send = float("-inf")
        self._family = family
        self._sock: socket.socket | None = None
        self._unsubscribe: Callable[[], None] | None = None
        self._counters = Counters(("messages", "packets", "suppressed_echo", "dropped", "send_errors"))
        self._log = RateLimitedLog(log, log_interval)

    # -- lifecycle --------------------------------------------------------------------
    def start(self, sync: bool = True) -> "OscFeedback":
        """Subscribe to the registry; with ``sync`` first send every current value once."""
        if self._sock is None:
            self._sock = socket.socket(self._family, socket.SOCK_DGRAM)
            self._sock.setblocking(False)
            self._unsubscribe = self.store.subscribe_batch(self._on_change)
            if sync:
                self.send_all()
        return self

    def stop(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        with self._lock:
            self._held.clear()
            if self._sock is not None:
                self._sock.close()
                self._sock = None

    def __enter__(self) -> "OscFeedback":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def stats(self) -> dict[str, int]:
        return self._counters.snapshot()

    # -- sending ----------------------------------------------------------------------
    def is_echo(self, source: Any) -> bool:
        """Did this change come from the feedback target itself?"""
        if not (isinstance(source, tuple) and len(source) >= 2 and isinstance(source[0], str)):
            return False
        try:
            ip = normalise_ip(source[0])
        except ValueError:
            return False
        if ip != self._target_ip:
            return False
        return self.echo_guard == "host" or source[1] == self.target[1]

    def _on_change(self, changes: dict, source: Any, version: int) -> None:
        with self._lock:
            if self.is_echo(source):
                self._counters.add("suppressed_echo", len(changes))
                for name in changes:  # the surface shows its own value: an older held fade value must not follow it
                    self._held.pop(name, None)
                return
            self._held.update(changes)
            if getattr(source, "fade_step", False) and self.clock() - self._last_send < self.step_interval:
                return  # held: goes out with the next bundle
            self._flush_locked()

    def flush(self) -> None:
        """Send the fade values held back by the step rate now (nothing when none are held)."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        values, self._held = self._held, {}
        if values:
            self.send(values)

    def send_all(self) -> None:
        """Every current value (not triggers), e.g. when a surface connects."""
        with self._lock:
            self._held.clear()
            snap = self.store.snapshot()
            self.send({n: v for n, v in snap.values.items() if self.store.spec(n).kind is not Kind.TRIGGER})

    def send(self, values: dict[str, Any]) -> None:
        dgrams = []
        for name, value in values.items():
            p = self.store.spec(name)
            b = OscMessageBuilder(address=p.osc_address)
            b.add_arg(ns.value_to_osc(p, value))
            dgrams.append(b.build())
            if self.norm and ns.has_norm(p):
                b = OscMessageBuilder(address=p.osc_address + ns.NORM)
                b.add_arg(ns.value_to_norm(p, value))
                dgrams.append(b.build())
        with self._lock:
            self._last_send = self.clock()
            self._send_messages(dgrams)

    def _send_messages(self, dgrams: list) -> None:
        if len(dgrams) == 1:
            self._sendto(dgrams[0].dgram, 1)
            return
        bundle, size, count = OscBundleBuilder(IMMEDIATELY), 16, 0
        for msg in dgrams:
            if count and size + 4 + msg.size > self.max_datagram:
                self._sendto(bundle.build().dgram, count)
                bundle, size, count = OscBundleBuilder(IMMEDIATELY), 16, 0
            bundle.add_content(msg)
            size += 4 + msg.size
            count += 1
        if count:
            self._sendto(bundle.build().dgram, count)

    def _sendto(self, dgram: bytes, messages: int) -> None:
        sock = self._sock
        if sock is None:
            return
        try:
            sock.sendto(dgram, self.target)
        except BlockingIOError:
            self._counters.add("dropped", messages)
            self._log.warn("dropped", f"feedback to {self.target[0]}:{self.target[1]} dropped: the send buffer is full")
            return
        except OSError as e:
            self._counters.add("send_errors", messages)
            self._log.warn("send_errors", f"feedback to {self.target[0]}:{self.target[1]} failed: {e}")
            return
        self._counters.add("messages", messages)
        self._counters.add("packets")
