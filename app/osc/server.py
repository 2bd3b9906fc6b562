"""The OSC server: one receive thread, handlers that only validate and write the registry.

Design:

* One thread runs python-osc's ``BlockingOSCUDPServer``; every datagram is handled to
  the end before the next is read, so there is no queue of our own and nothing to tune.
  A 200 Hz (or 1 kHz) fader stream coalesces by itself: each message is one validated
  ``store.update`` (a dict lookup, a type check, a locked dict copy) and the engine
  reads one snapshot per frame, so it applies the latest value once per frame.
* The dispatcher is python-osc's ``Dispatcher(strict_timing=False)`` with an exact-address
  fast path; bundles with future time tags are applied at once (never put on timers).
  The messages of one bundle are applied as ONE registry version (one frame never sees
  half a bundle, and feedback sends them on as one bundle).
* Security: 127.0.0.1 by default.  Listening anywhere else needs an allow-list of
  sender addresses (IPs or CIDR networks; one given for loopback applies too); other
  senders are dropped (no answer) and counted before their packets are parsed.
  Malformed packets, unknown addresses, wrong types, NaN/inf, out-of-range values and
  over-long strings are counted per category (``stats``) and logged at most once per
  category per ``log_interval`` seconds; none of them reaches the registry, whose own
  validation is the last guard (``ParamError`` is counted too).
* Queries (``<address>/get``, ``<address>/norm/get`` or a single ``"?"`` argument) are
  answered to the asking socket (the sender's ip:port) from the server's socket: the
  one who asks gets the answer whether or not a feedback target is configured, and an
  answer is not feedback, so loop-safety does not apply to it.
* Answers are bounded per incoming packet (a bundle is one packet): at most
  :data:`MAX_REPLIES_PER_PACKET` datagrams and :data:`MAX_REPLY_BYTES_PER_PACKET` bytes.
  UDP senders can be spoofed, so a 28-byte query must not draw kilobytes at a victim,
  and a 65 KB bundle of queries must not keep this thread busy.  What is beyond the cap is
  dropped (never queued) and counted (``replies_dropped``); once the cap is reached, the
  packet's remaining queries are dropped without being looked up.  The preset list is
  paged (``namespace.PRESET_LIST_PAGE_BYTES`` per answer) and its pages are cached until the
  names change (the preset store caches the names until its folder changes).
* Actions (the action table, engine.params.actions: blackout toggle, panic, preset
  recall/next/save/..., tempo tap) call ``ShowActions.trigger`` with
  ``source="osc:IP:PORT"`` -- deliberately not the sender tuple, so the values a recall
  changes ARE fed back to the peer that asked for it (it did not send those values).
"""

from __future__ import annotations

import errno
import logging
import threading
from typing import Any, Iterable

from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from engine.params.registry import Kind, ParamError, ParamStore

from ..show_actions import ShowActionError, ShowActions
from . import namespace as ns
from .addresses import OscConfigError, is_loopback, normalise_ip, parse_allow
from .counters import Counters, RateLimitedLog
from .packets import problem, string_list_page
from .udp import OscUdpServer, RegistryDispatcher

__all__ = ["DEFAULT_HOST", "DEFAULT_PORT", "OscConfigError", "OscServer", "is_loopback"]

log = logging.getLogger("dreamdeck.osc")

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9000
MAX_REPLIES_PER_PACKET = 64  # answer datagrams to one incoming packet (or bundle)
MAX_REPLY_BYTES_PER_PACKET = 64 * 1024  # bytes of answers to one incoming packet (or bundle)

ERROR_CATEGORIES = (
    "refused", "malformed", "unknown_address", ns.WRONG_TYPE, ns.NOT_FINITE, ns.OUT_OF_RANGE, ns.TOO_LONG,
    ns.BAD_VALUE, "action_refused", "action_unavailable", "handler_errors", "reply_errors", "replies_dropped",
)
COUNTERS = ("packets", "messages", "applied", "ignored", "queries", "actions") + ERROR_CATEGORIES


class OscServer:
    """OSC in: ``/dreamdeck/...`` addresses into ``store``; actions into ``actions``.

    ``port=0`` picks a free port (see :attr:`address`).  ``start()`` binds and starts the
    receive thread; ``stop()`` ends it within about 0.1 s.
    """

    def __init__(self, store: ParamStore, actions: ShowActions | None = None, host: str = DEFAULT_HOST,
                 port: int = DEFAULT_PORT, allow: Iterable[str] | None = None, *, log_interval: float = 5.0):
        if not 0 <= port <= 65535:
            raise OscConfigError(f"OSC port must be 0..65535; got {port}")
        self.store = store
        self.actions = actions
        self.host = host
        self.port = port
        self.allow = parse_allow(allow or ())
        if not is_loopback(host) and not self.allow:
            raise OscConfigError(
                f"listening for OSC on {host or 'all interfaces'} opens DreamDeck to the network: "
                "give the senders' addresses with --osc-allow (e.g. --osc-allow 192.168.1.20,192.168.1.21)")
        self._admitted: dict[str, bool] = {}
        self._counters = Counters(COUNTERS)
        self._log = RateLimitedLog(log, log_interval)
        self._dispatcher = RegistryDispatcher(self)
        for route in ns.routes(store.params.values()):
            handler = self._on_action if route.form == "action" else self._on_param
            self._dispatcher.map(route.address, handler, route, needs_reply_address=True)
        self._dispatcher.set_default_handler(self._on_unknown, needs_reply_address=True)
        self._dispatcher.freeze()
        self._server: OscUdpServer | None = None
        self._thread: threading.Thread | None = None
        # per-packet state; only the receive thread touches it
        self._pending: dict[str, Any] = {}
        self._replies: list[bytes] = []
        self._reply_bytes = 0
        self._dropped = 0
        # the preset list's answer pages, kept while the names stay the same
        self._list_names: list[str] | None = None
        self._list_pages: dict[int, bytes] = {}

    # -- lifecycle --------------------------------------------------------------------
    def start(self) -> "OscServer":
        if self._thread is not None:
            return self
        try:
            self._server = OscUdpServer((self.host, self.port), self._dispatcher, self)
        except OSError as e:
            hint = (" (another DreamDeck or OSC app? choose another port)" if e.errno == errno.EADDRINUSE
                    else " (is that an address of this computer?)" if e.errno == errno.EADDRNOTAVAIL else "")
            raise OscConfigError(f"cannot listen for OSC on {self.host}:{self.port}: {e.strerror or e}{hint}") from None
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        name="osc-server", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 1.0) -> None:
        server, thread = self._server, self._thread
        if server is None:
            return
        if thread is not None:
            server.shutdown()  # returns once serve_forever has left its loop (<= poll interval)
            thread.join(timeout)
        server.server_close()
        self._server = self._thread = None

    def __enter__(self) -> "OscServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def address(self) -> tuple[str, int]:
        """The bound (host, port); the port is the real one when started with port=0."""
        if self._server is None:
            return self.host, self.port
        return self._server.server_address[:2]

    @property
    def stats(self) -> dict[str, int]:
        """Counters for the GUI and metrics: packets, messages, applied, queries, actions,
        ignored, and one per refusal category (refused, malformed, unknown_address, ...,
        replies_dropped: answers beyond the per-packet cap)."""
        return self._counters.snapshot()

    @property
    def errors(self) -> int:
        s = self.stats
        return sum(s[c] for c in ERROR_CATEGORIES)

    # -- receive thread ---------------------------------------------------------------
    def _count_error(self, category: str, message: str, exc_info: bool = False, count: int = 1) -> None:
        self._counters.add(category, count)
        self._log.warn(category, message, exc_info=exc_info)

    def _admit(self, client_address) -> bool:
        self._counters.add("packets")
        if not self.allow:
            return True
        ip = client_address[0]
        ok = self._admitted.get(ip)
        if ok is None:
            try:
                addr = normalise_ip(ip)
                ok = any(addr in net for net in self.allow)
            except ValueError:
                ok = False
            if len(self._admitted) > 4096:  # spoofed floods must not grow memory
                self._admitted.clear()
            self._admitted[ip] = ok
        if not ok:
            self._count_error("refused", f"dropped packets from {ip}: not in the OSC allow-list")
        return ok

    def _handle_packet(self, data: bytes, client_address) -> list[bytes]:
        why = problem(data)
        if why is None:
            try:
                messages = [tm.message for tm in OscPacket(data).messages]  # time tags ignored: apply now
            except Exception as e:  # python-osc raises ParseError, but also UnicodeDecodeError & co
                why = f"{type(e).__name__}"
        if why is not None:
            self._count_error("malformed", f"malformed packet from {client_address[0]}: {why}")
            return []
        self._pending = {}
        self._replies = []
        self._reply_bytes = self._dropped = 0
        for msg in messages:
            self._counters.add("messages")
            if self._replies_full() and _is_query(msg):
                self._dropped += 1  # the cap is reached: not even looked up
                continue
            for handler in self._dispatcher.handlers_for_address(msg.address):
                try:
                    handler.invoke(client_address, msg)
                except Exception:  # a bug or a listener's error: counted, never fatal
                    self._count_error("handler_errors", f"error handling {msg.address[:80]}", exc_info=True)
        self._flush(client_address)
        if self._dropped:
            self._count_error("replies_dropped", self._drop_note(client_address), count=self._dropped)
        return self._replies

    def _drop_note(self, client_address) -> str:
        return (f"a packet from {client_address[0]} asked for more answers than one packet gets "
                f"({MAX_REPLIES_PER_PACKET} datagrams, {MAX_REPLY_BYTES_PER_PACKET // 1024} KiB): "
                f"dropped {self._dropped}; ask in smaller packets (see docs/osc.md)")

    def _flush(self, client_address) -> None:
        """Apply the packet's pending writes as one registry version."""
        if not self._pending:
            return
        pending, self._pending = self._pending, {}
        try:
            self.store.update(pending, source=client_address)
        except ParamError as e:  # already validated; the registry is the last guard
            self._count_error(ns.BAD_VALUE, str(e))
        except Exception:
            self._count_error("handler_errors", "a change listener failed", exc_info=True)

    def _replies_full(self) -> bool:
        return len(self._replies) >= MAX_REPLIES_PER_PACKET or self._reply_bytes >= MAX_REPLY_BYTES_PER_PACKET

    def _reply(self, address: str, *args: Any) -> None:
        if self._replies_full():
            self._dropped += 1
            return
        b = OscMessageBuilder(address=address)
        for a in args:
            b.add_arg(a)
        self._send(b.build().dgram)

    def _send(self, dgram: bytes) -> None:
        """Queue one answer of this packet, within the packet's cap (else dropped and counted)."""
        if self._replies_full() or self._reply_bytes + len(dgram) > MAX_REPLY_BYTES_PER_PACKET:
            self._dropped += 1
            return
        self._replies.append(dgram)
        self._reply_bytes += len(dgram)

    def _preset_list_page(self, start: int) -> bytes:
        names = self.actions.preset_names()
        if names != self._list_names:
            self._list_names, self._list_pages = list(names), {}
        page = self._list_pages.get(start)
        if page is None:
            if len(self._list_pages) >= 256:  # any start may be asked for: keep the cache bounded
                self._list_pages.clear()
            page, _ = string_list_page(ns.PRESET_LIST, self._list_names, start, ns.PRESET_LIST_PAGE_BYTES)
            self._list_pages[start] = page
        return page

    def _refuse(self, e: Exception, client_address) -> None:
        if isinstance(e, ns.OscValueError):
            self._count_error(e.category, f"from {client_address[0]}: {e}")
        else:
            self._count_error(ns.BAD_VALUE, f"from {client_address[0]}: {e}")

    def _on_unknown(self, client_address, address: str, *args) -> None:
        self._count_error("unknown_address", f"no such address {address[:80]!r} (from {client_address[0]}; see docs/osc.md)")

    def _on_param(self, client_address, address: str, fixed: list, *args) -> None:
        route: ns.Route = fixed[0]
        p = route.param
        form = route.form
        if form in ("get", "norm_get") or (len(args) == 1 and args[0] == ns.QUERY):
            self._flush(client_address)
            self._counters.add("queries")
            if self._replies_full():
                self._dropped += 1
                return
            value = self.store.get(p.name)
            if p.kind is Kind.TRIGGER:
                value = False  # triggers are momentary: they read 0
            if form in ("norm", "norm_get"):
                self._reply(p.osc_address + ns.NORM, ns.value_to_norm(p, value))
            else:
                self._reply(p.osc_address, ns.value_to_osc(p, value))
            return
        try:
            x = ns.single_arg(p, args)
            value = ns.value_from_norm(p, x) if form == "norm" else ns.value_from_osc(p, x)
            self._pending[p.name] = p.validate(value)
        except ns.Ignore:
            self._counters.add("ignored")
            return
        except (ns.OscValueError, ParamError) as e:
            self._refuse(e, client_address)
            return
        self._counters.add("applied")

    def _on_action(self, client_address, address: str, fixed: list, *args) -> None:
        route: ns.Route = fixed[0]
        a, addr = route.action, route.address
        self._flush(client_address)  # a bundle may set preset_fade_time, then recall
        if self.actions is None:
            self._count_error("action_unavailable", f"{addr} is not available here (no show control)")
            return
        source = f"osc:{client_address[0]}:{client_address[1]}"
        try:
            arg = ns.action_arg(a, args)
            if a.query:  # answered, never run: the preset list, paged (see _preset_list_page)
                self._counters.add("queries")
                if self._replies_full():
                    self._dropped += 1
                else:
                    self._send(self._preset_list_page(arg or 0))
                return
            note = self.actions.trigger(a.name, arg, source=source)
        except ns.Ignore:
            self._counters.add("ignored")
            return
        except ns.OscValueError as e:
            self._refuse(e, client_address)
            return
        except ShowActionError as e:
            self._count_error("action_refused", f"{addr}: {e}")
            return
        if isinstance(note, str) and a.name == "panic":  # the show is black; the safe preset did not come
            self._log.warn("panic", note)
        self._counters.add("actions")


_QUERY_ACTIONS = frozenset(a.osc_address for a in ns.ACTIONS if a.query)


def _is_query(msg) -> bool:
    """A message that only asks (a get form, a single "?", a query action): what the reply cap drops."""
    a = msg.address
    return a.endswith(ns.GET) or a in _QUERY_ACTIONS or (len(msg.params) == 1 and msg.params[0] == ns.QUERY)
