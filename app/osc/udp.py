"""python-osc, extended at its own extension points for :class:`app.osc.server.OscServer`.

* ``verify_request`` applies the allow-list before any parsing;
* ``handle_error`` counts instead of printing a traceback per bad packet;
* the request handler sends pre-built answers and counts send errors;
* the dispatcher (``strict_timing=False``) finds plain addresses with one dict lookup,
  serves only short OSC wildcard patterns (and remembers what each matched: the address
  map is frozen), and hands whole packets to the server so parse errors are counted
  (python-osc's own packet loop swallows them).
"""

from __future__ import annotations

import socket
import socketserver
from typing import TYPE_CHECKING

from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_server import BlockingOSCUDPServer

if TYPE_CHECKING:
    from .server import OscServer

RECEIVE_BUFFER = 1 << 20  # bytes asked of the kernel (it caps at net.core.rmem_max)
_PATTERN_CHARS = frozenset("*?[]{}")
MAX_PATTERN_LENGTH = 128
MAX_PATTERN_WILDCARDS = 3
PATTERN_CACHE_SIZE = 1024  # wildcard patterns whose matches are remembered (a bundle may repeat one thousands of times)


class OscRequest(socketserver.BaseRequestHandler):
    """python-osc's UDP handler, but answers are pre-built datagrams and send errors are counted."""

    def handle(self) -> None:
        data, sock = self.request
        for dgram in self.server.dispatcher.call_handlers_for_packet(data, self.client_address):
            try:
                sock.sendto(dgram, self.client_address)
            except OSError:
                self.server.owner._count_error("reply_errors", f"could not answer {self.client_address[0]}")


class OscUdpServer(BlockingOSCUDPServer):
    max_packet_size = 65535  # read whole datagrams: an over-long one is refused, not truncated into garbage

    def __init__(self, address, dispatcher: Dispatcher, owner: "OscServer"):
        self.owner = owner
        super().__init__(address, dispatcher)
        self.RequestHandlerClass = OscRequest

    def server_bind(self) -> None:
        try:  # room for a burst (a 1 kHz fader on a busy machine) before the kernel drops
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
        except OSError:
            pass
        super().server_bind()

    def verify_request(self, request, client_address) -> bool:
        return self.owner._admit(client_address)

    def handle_error(self, request, client_address) -> None:  # never print tracebacks per packet
        self.owner._count_error("handler_errors", f"error handling a packet from {client_address[0]}", exc_info=True)


def _simple_pattern(address: str) -> bool:
    """OSC wildcards are matched with backtracking regular expressions: a hostile pattern
    full of ``*`` and ``?`` could take seconds, so only short, simple ones are served."""
    return len(address) <= MAX_PATTERN_LENGTH and address.count("*") + address.count("?") <= MAX_PATTERN_WILDCARDS


class RegistryDispatcher(Dispatcher):
    """Dispatcher(strict_timing=False) with an O(1) lookup for plain addresses and a
    packet loop that counts parse errors (python-osc's own loop swallows them)."""

    def __init__(self, owner: "OscServer"):
        super().__init__(strict_timing=False)
        self.owner = owner
        self._exact: dict[str, list] = {}
        self._patterns: dict[str, list] = {}

    def freeze(self) -> None:
        self._exact = {addr: list(handlers) for addr, handlers in self._map.items()}

    def handlers_for_address(self, address_pattern: str):
        handlers = self._exact.get(address_pattern)
        if handlers is not None:
            return handlers
        if _PATTERN_CHARS.isdisjoint(address_pattern) or not _simple_pattern(address_pattern):
            return [self._default_handler] if self._default_handler else []
        matched = self._patterns.get(address_pattern)
        if matched is None:
            matched = [h for h in super().handlers_for_address(address_pattern)]  # OSC wildcards
            if len(self._patterns) >= PATTERN_CACHE_SIZE:
                self._patterns.clear()
            self._patterns[address_pattern] = matched
        return matched or ([self._default_handler] if self._default_handler else [])

    def call_handlers_for_packet(self, data: bytes, client_address) -> list[bytes]:
        return self.owner._handle_packet(data, client_address)
