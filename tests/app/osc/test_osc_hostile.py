"""Fuzz, the allow-list and a 1 kHz fader stream, each from another process over real UDP."""

from __future__ import annotations

import logging
import select
import time

import pytest
from osc_helpers import Peer, wait_for

from app.osc import OscConfigError, OscServer

FUZZ_PACKETS = 10_000


def test_fuzz_never_crashes_and_never_leaves_an_invalid_value(store, server, peer, caplog):
    before = server.stats["packets"]
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="dreamdeck.osc"):
        r = peer.call(wait=120, op="fuzz", to=list(server.address), n=FUZZ_PACKETS, seed=20240607)
    seconds = time.monotonic() - t0
    assert "error" not in r, r
    assert r["sent"] == FUZZ_PACKETS and len(r["kinds"]) == 11, r
    # still up: it answers a query
    assert peer.ask(server.address, "/dreamdeck/strength/get")[0][0] == "/dreamdeck/strength"
    s = server.stats
    assert s["packets"] - before == FUZZ_PACKETS + r["synced"] + 1  # every datagram read (none lost in the kernel)
    for category in ("malformed", "unknown_address", "wrong_type", "not_finite", "out_of_range", "too_long", "bad_value"):
        assert s[category] > 0, (category, s)
    assert server.errors >= 0.9 * FUZZ_PACKETS, s
    assert s["handler_errors"] == 0 and s["reply_errors"] == 0, s
    assert server.running
    # logged, but rate-limited: at most one line per category per 5 s
    lines = [rec for rec in caplog.records if rec.name == "dreamdeck.osc"]
    categories = {rec.getMessage().split(":")[0] for rec in lines}
    assert 0 < len(lines) <= len(categories) * (seconds // 5 + 1), [rec.getMessage()[:80] for rec in lines]
    for name, p in store.params.items():  # every value still one its parameter accepts
        value = store.get(name)
        assert p.validate(value) == value, (name, value)


def test_lan_mode_needs_an_allow_list():
    from engine.params.catalog import engine_store

    with pytest.raises(OscConfigError, match="--osc-allow"):
        OscServer(engine_store(), host="0.0.0.0", port=0)
    with pytest.raises(OscConfigError, match="not an IP address"):
        OscServer(engine_store(), host="0.0.0.0", port=0, allow=["my-laptop"])
    OscServer(engine_store(), host="0.0.0.0", port=0, allow=["192.168.1.0/24"])  # accepted (not started)


def test_allow_list_refuses_other_senders(store, peer):
    """Only 127.0.0.2 may send; 127.0.0.1 (the module's peer) is dropped and counted."""
    other = Peer("127.0.0.2")
    try:
        with OscServer(store, port=0, allow=["127.0.0.2"]) as srv:
            peer.send(srv.address, "/dreamdeck/strength", 0.3)  # refused
            peer.send(srv.address, "/dreamdeck/blackout", 1)  # refused
            other.send(srv.address, "/dreamdeck/delta", 1.5)  # allowed
            assert other.ask(srv.address, "/dreamdeck/delta/get") == [["/dreamdeck/delta", [1.5]]]
            wait_for(lambda: srv.stats["refused"] == 2, what="two refused packets")
            assert store.get("strength") == 0.5 and store.get("blackout") is False and store.get("delta") == 1.5
            peer.send(srv.address, "/dreamdeck/strength/get")
            wait_for(lambda: srv.stats["refused"] == 3, what="the query to be refused")
            # no answer to a refused sender: nothing to wait for, so a short look for a datagram that must not come
            assert peer.recv(timeout=0.3) is None
            assert srv.stats["refused"] == 3 and srv.stats["applied"] == 1
    finally:
        other.close()


def test_fader_stream_at_1khz_is_applied_in_order_and_ends_on_the_last_value(store, server, peer):
    """A fader moved by another process at 1000 messages a second.  The engine (simulated: one
    snapshot read per 30 fps frame) only ever sees values the fader passed through, in the order
    sent, and the registry ends on the exact last value.  (How soon after the last message the
    value lands is a latency, for `dreamdeck bench`, not a test.)"""
    start = store.get("strength")
    peer.proc.stdin.write('{"op": "fader", "to": %s, "address": "/dreamdeck/strength", "n": 1000, "rate": 1000}\n'
                          % list(server.address).__repr__().replace("'", '"'))
    peer.proc.stdin.flush()
    seen, done = [], None
    while done is None:  # one engine frame per 1/30 s of waiting for the peer's report
        seen.append(store.snapshot()["strength"])
        assert len(seen) < 30 * 120, "the fader stream did not finish"
        ready, _, _ = select.select([peer.proc.stdout], [], [], 1 / 30)
        if ready:
            done = peer._read(1)
    wait_for(lambda: store.get("strength") == done["last"], what=lambda: f"the last value {done['last']}, not {store.get('strength')}")
    seen.append(store.get("strength"))
    moved = seen[next((k for k, v in enumerate(seen) if v != start), len(seen)):]
    assert moved and moved == sorted(moved), seen  # the fader only goes up: never an older value after a newer one
    assert all(0.02 < v <= done["last"] for v in moved), seen
    assert server.errors == 0 and server.stats["applied"] >= 900, server.stats