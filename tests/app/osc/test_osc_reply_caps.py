"""What one incoming OSC packet may draw: at most 64 answer datagrams and 64 KiB of answers,
the rest dropped and counted; the preset list paged in 8 KiB answers.  Real UDP on 127.0.0.1.

The asking socket lives in this process: it sends one packet at a time and only then reads,
so it cannot starve the server's thread the way a busy sender would (see osc_peer.py).
"""

from __future__ import annotations

import socket

import pytest
from osc_helpers import wait_for
from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder
from pythonosc.osc_packet import OscPacket

from app.osc import OscServer
from app.osc.namespace import PRESET_LIST, PRESET_LIST_PAGE_BYTES
from app.osc.server import MAX_REPLIES_PER_PACKET, MAX_REPLY_BYTES_PER_PACKET

LONG_NAMES = [f"look {i:03d} " + "x" * 55 for i in range(408)]  # 64 characters each, like the probe's


def message(address: str, *args) -> bytes:
    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def bundle(*dgrams: bytes) -> bytes:
    b = OscBundleBuilder(IMMEDIATELY)
    for d in dgrams:
        b.add_content(OscMessage(d))
    return b.build().dgram


class Asker:
    """A control surface's socket: sends packets, collects every answer datagram."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)  # room to see a flood whole
        self.sock.bind(("127.0.0.1", 0))

    def send(self, to, dgram: bytes) -> None:
        self.sock.sendto(dgram, to)

    def until(self, address: str, timeout: float = 10.0) -> list[bytes]:
        """Every datagram received before the first whose message is at ``address`` (not included)."""
        self.sock.settimeout(timeout)
        before = []
        while True:
            try:
                data = self.sock.recv(65535)
            except socket.timeout:
                raise AssertionError(f"no answer at {address} within {timeout} s ({len(before)} other answers)") from None
            if OscPacket(data).messages[0].message.address == address:
                return before
            before.append(data)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def asker():
    a = Asker()
    yield a
    a.close()


class Names:
    """ShowActions with a fixed preset list (the store behind it is another test's business)."""

    def __init__(self, names):
        self.names = list(names)

    def preset_names(self):
        return list(self.names)


def page_args(dgram: bytes) -> tuple[list[str], int | None]:
    params = OscMessage(dgram).params
    if params and isinstance(params[-1], int):
        return params[:-1], params[-1]
    return params, None


@pytest.mark.parametrize("queries", [
    [message("/dreamdeck/strength/get")] * 200,  # plain gets: 200 answers asked for
    [message("/dreamdeck/*/*/*", "?")] * 4,  # wildcard queries: 56 answers each
], ids=["gets", "wildcards"])
def test_one_bundle_draws_at_most_the_cap_of_answers_and_the_rest_is_counted(store, asker, queries):
    with OscServer(store, port=0) as srv:
        asker.send(srv.address, bundle(*queries))
        asker.send(srv.address, message("/dreamdeck/delta/get"))  # the next packet is answered
        got = asker.until("/dreamdeck/delta")
        assert len(got) == MAX_REPLIES_PER_PACKET, len(got)
        assert sum(map(len, got)) <= MAX_REPLY_BYTES_PER_PACKET
        wait_for(lambda: srv.stats["replies_dropped"] > 0, what="the dropped answers to be counted")
        assert srv.stats["handler_errors"] == 0 and srv.running


def test_a_bundle_of_preset_list_requests_does_not_stall_the_server(store, asker, tmp_path):
    """The probe's case: 408 presets, one 65 KB bundle of 2,030 list requests, then a plain get."""
    from app.presets.store import PresetStore
    from app.show_control import ShowControl

    folder = tmp_path / "presets"
    folder.mkdir()
    for name in LONG_NAMES:
        (folder / f"{name}.json").write_text('{"schema_version": 2, "name": "x", "values": {}}')
    show = ShowControl(store, presets=PresetStore(folder, shipped_directory=None, params=store.params))
    with OscServer(store, show, port=0) as srv:
        flood = bundle(*[message(PRESET_LIST)] * 2030)
        assert len(flood) <= 65_000
        asker.send(srv.address, flood)
        asker.send(srv.address, message("/dreamdeck/strength/get"))
        got = asker.until("/dreamdeck/strength", timeout=10.0)  # answered, not stuck behind 2,030 lists
        assert 0 < len(got) <= MAX_REPLIES_PER_PACKET and sum(map(len, got)) <= MAX_REPLY_BYTES_PER_PACKET
        assert all(len(d) <= PRESET_LIST_PAGE_BYTES for d in got)
        wait_for(lambda: srv.stats["replies_dropped"] >= 2030 - len(got), what="the dropped lists to be counted")
        assert srv.stats["messages"] == 2031 and srv.stats["handler_errors"] == 0, srv.stats


def test_the_preset_list_is_paged_to_fit_one_datagram_and_the_pages_join_up(store, asker):
    with OscServer(store, Names(LONG_NAMES), port=0) as srv:
        start, names, pages = None, [], 0
        while True:
            asker.send(srv.address, message(PRESET_LIST) if start is None else message(PRESET_LIST, start))
            asker.send(srv.address, message("/dreamdeck/delta/get"))
            got = asker.until("/dreamdeck/delta")
            assert len(got) == 1 and len(got[0]) <= PRESET_LIST_PAGE_BYTES, [len(d) for d in got]
            page, start = page_args(got[0])
            assert page, "a page of a longer list holds names"
            names += page
            pages += 1
            if start is None:
                break
            assert start == len(names)  # the int is the index of the next name
        assert names == LONG_NAMES and pages > 1
        asker.send(srv.address, message(PRESET_LIST, len(LONG_NAMES)))  # past the end: an empty last page
        asker.send(srv.address, message("/dreamdeck/delta/get"))
        assert [page_args(d) for d in asker.until("/dreamdeck/delta")] == [([], None)]


def test_a_bad_page_start_is_refused_and_counted(store, asker):
    with OscServer(store, Names(LONG_NAMES), port=0) as srv:
        for bad in ("next", -1, 1.5):
            asker.send(srv.address, message(PRESET_LIST, bad))
        asker.send(srv.address, message("/dreamdeck/delta/get"))
        assert asker.until("/dreamdeck/delta") == []  # no list for a bad start
        s = srv.stats
        assert (s["wrong_type"], s["out_of_range"]) == (2, 1), s


def test_list_pages_are_built_once_while_the_names_stay_the_same(store, asker, monkeypatch):
    import app.osc.server as server_module

    built = []
    real = server_module.string_list_page
    monkeypatch.setattr(server_module, "string_list_page", lambda *a: built.append(a[2]) or real(*a))
    show = Names(LONG_NAMES)
    with OscServer(store, show, port=0) as srv:
        for _ in range(3):
            asker.send(srv.address, bundle(*[message(PRESET_LIST)] * 5))
            asker.send(srv.address, message("/dreamdeck/delta/get"))
            assert len(asker.until("/dreamdeck/delta")) == 5
        assert built == [0]
        show.names = LONG_NAMES[:3]  # the store changed: the next answer says so, in one page of names only
        asker.send(srv.address, message(PRESET_LIST))
        asker.send(srv.address, message("/dreamdeck/delta/get"))
        assert [OscMessage(d).params for d in asker.until("/dreamdeck/delta")] == [LONG_NAMES[:3]]
