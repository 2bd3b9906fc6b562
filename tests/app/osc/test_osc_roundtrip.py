"""Set, normalised set, query and feedback round trips for every parameter type, over real
UDP with the sender in another process; loop-safety; bundles; actions."""

from __future__ import annotations

import pytest
from osc_helpers import wait_for

from app.osc import OscFeedback
from app.show_actions import ShowActionError
from engine.params.registry import Kind

F32 = dict(rel=1e-6)

# kind -> (parameter, [(address suffix, argument, expected value, expected feedback argument)], norm reading)
CASES = {
    Kind.FLOAT: ("strength", [("", 0.25, 0.25, 0.25), ("/norm", 0.5, 0.51, 0.51)], 0.5),
    Kind.INT: ("steps", [("", 3, 3, 3), ("/norm", 1.0, 8, 8), ("/norm", 0.5, 5, 5), ("", 2.0, 2, 2)], 1 / 7),
    Kind.BOOL: ("similarity_filter", [("", 1, True, 1), ("/norm", 0.2, False, 0), ("", True, True, 1), ("", "off", False, 0)], 0.0),
    Kind.STR: ("prompt.1.text", [("", "a neon forest, étoiles", "a neon forest, étoiles", "a neon forest, étoiles")], None),
    Kind.CHOICE: ("guidance", [("", "full", "full", "full"), ("/norm", 0.0, "none", "none"), ("", 2, "initialize", "initialize")], 2 / 3),
}


def _same(got, want) -> bool:
    if isinstance(want, float):
        return got == pytest.approx(want, **F32)
    return got == want and type(got) is type(want)


@pytest.mark.parametrize("kind", list(CASES), ids=lambda k: k.value)
def test_set_norm_query_and_feedback(kind, store, server, peer, listener):
    name, steps, norm_reading = CASES[kind]
    p = store.spec(name)
    with OscFeedback(store, *listener.address).start(sync=False):
        for suffix, arg, value, fed_back in steps:
            peer.send(server.address, p.osc_address + suffix, arg)
            wait_for(lambda: _same(store.get(name), value), what=f"{name} = {value!r} after {suffix or '/'} {arg!r}")
            got = listener.expect(p.osc_address)
            assert len(got) == 1 and _same(got[0][1][0], fed_back), got
        # query: a "?" argument, and the /get address, answered to the asking socket
        for address, args in ((p.osc_address, ["?"]), (p.osc_address + "/get", [])):
            reply = peer.ask(server.address, address, *args)
            assert reply[0][0] == p.osc_address and _same(reply[0][1][0], fed_back), reply
        if norm_reading is not None:
            for address, args in ((p.osc_address + "/norm", ["?"]), (p.osc_address + "/norm/get", [])):
                reply = peer.ask(server.address, address, *args)
                assert reply[0][0] == p.osc_address + "/norm" and reply[0][1][0] == pytest.approx(norm_reading, abs=1e-6)
    assert server.errors == 0, server.stats


def test_trigger_fires_on_1_and_ignores_0(store, server, peer, listener):
    fired = []
    unsubscribe = store.subscribe(lambda n, v, s: fired.append(s) if n == "tap" else None)
    try:
        with OscFeedback(store, *listener.address).start(sync=False):
            peer.send(server.address, "/dreamdeck/tap", 1)
            wait_for(lambda: len(fired) == 1, what="the first tap")
            assert listener.expect("/dreamdeck/tap") == [["/dreamdeck/tap", [1]]]
            assert fired[0] == peer.address  # the sender's (ip, port) is the change's source
            peer.send(server.address, "/dreamdeck/tap", 0)  # ignored
            peer.send(server.address, "/dreamdeck/tap/norm", 0.2)  # ignored
            peer.send(server.address, "/dreamdeck/tap/norm", 1.0)  # fires
            peer.send(server.address, "/dreamdeck/tap")  # an address-only message fires
            wait_for(lambda: len(fired) == 3, what="three taps")
            reply = peer.ask(server.address, "/dreamdeck/tap", "?")
            assert reply == [["/dreamdeck/tap", [0]]]  # triggers are momentary
            assert server.stats["ignored"] == 2 and len(fired) == 3
    finally:
        unsubscribe()
    assert server.errors == 0


def test_feedback_is_loop_safe(store, server, peer, listener):
    """A change from peer A goes to the feedback target B, but is not echoed to A when A
    is itself a target; changes from elsewhere (GUI, presets) reach both."""
    with OscFeedback(store, *listener.address).start(sync=False), \
            OscFeedback(store, *peer.address).start(sync=False) as to_a:
        peer.send(server.address, "/dreamdeck/delta", 1.5)
        assert listener.expect("/dreamdeck/delta") == [["/dreamdeck/delta", [1.5]]]
        wait_for(lambda: to_a.stats["suppressed_echo"] == 1, what="the echo to A to be suppressed")
        store.set("guidance_scale", 3.0, source="gui")
        # UDP on loopback keeps order: had A been echoed its delta, it would arrive first
        assert peer.recv() == [["/dreamdeck/guidance_scale", [3.0]]]
        assert listener.expect("/dreamdeck/guidance_scale") == [["/dreamdeck/guidance_scale", [3.0]]]
        assert to_a.stats["messages"] == 1


def test_one_bundle_per_update_and_bundles_apply_as_one_version(store, server, peer, listener):
    with OscFeedback(store, *listener.address).start(sync=False):
        store.update({"strength": 0.7, "delta": 0.5, "prompt.2.text": "rain", "blackout": True}, source="preset")
        got = listener.recv()
        assert sorted(m[0] for m in got) == ["/dreamdeck/blackout", "/dreamdeck/delta", "/dreamdeck/prompt/2/text",
                                             "/dreamdeck/strength"]
        versions = []
        unsubscribe = store.subscribe_batch(lambda changes, source, version: versions.append(sorted(changes)))
        try:  # a bundle from a peer, with a far-future time tag: applied now, in one version, fed back as one bundle
            assert peer.call(op="bundle", to=list(server.address), future=3600.0,
                             messages=[["/dreamdeck/strength", [0.3]], ["/dreamdeck/guidance", ["none"]]]) == {"ok": True}
            wait_for(lambda: versions, what="the bundle to apply")
            assert versions == [["guidance", "strength"]]
            got = listener.recv()
            assert sorted(m[0] for m in got) == ["/dreamdeck/guidance", "/dreamdeck/strength"]
        finally:
            unsubscribe()


def test_feedback_sync_sends_every_value_once(store, listener):
    with OscFeedback(store, *listener.address, max_datagram=1400).start(sync=True) as fb:
        seen = {}
        while len(seen) < len(store.params) - 1:  # every parameter but the trigger
            got = listener.recv()
            assert got is not None, f"missing {set(store.params) - set(seen)}"
            seen.update(got)
        assert "/dreamdeck/tap" not in seen and seen["/dreamdeck/strength"] == [0.5]
        assert fb.stats["packets"] > 1  # split below max_datagram


class Recorder:
    """A ShowActions implementation that records the actions it is asked to run (presets/tempo
    are another module's job)."""

    def __init__(self):
        self.calls = []

    def trigger(self, name, arg=None, source=None):
        if arg == "missing":
            raise ShowActionError("there is no preset named 'missing'")
        self.calls.append((name, arg, source))

    def preset_names(self):
        return ["warm", "cold", "strobe"]


def test_action_addresses_call_the_show(store, peer):
    from app.osc import OscServer

    show = Recorder()
    with OscServer(store, show, port=0) as srv:
        to = srv.address
        peer.send(to, "/dreamdeck/preset/recall", "warm")
        peer.send(to, "/dreamdeck/preset/recall", 2)
        peer.send(to, "/dreamdeck/preset/recall", "missing")
        peer.send(to, "/dreamdeck/preset/save", "my look")
        peer.send(to, "/dreamdeck/preset/save", 3)  # wrong type
        peer.send(to, "/dreamdeck/tempo/tap", 1)
        peer.send(to, "/dreamdeck/tempo/tap", 0)
        assert peer.ask(to, "/dreamdeck/preset/list") == [["/dreamdeck/preset/list", ["warm", "cold", "strobe"]]]
        src = f"osc:{peer.ip}:{peer.port}"  # not the sender tuple: a recall's values are fed back to its asker
        assert show.calls == [("preset_recall", "warm", src), ("preset_recall", 2, src), ("preset_save", "my look", src),
                              ("tap", None, src)]
        s = srv.stats
        assert (s["actions"], s["action_refused"], s["wrong_type"], s["ignored"]) == (4, 1, 1, 1)
    with OscServer(store, None, port=0) as srv:  # no show attached: counted, not fatal
        peer.send(srv.address, "/dreamdeck/preset/recall", "warm")
        assert peer.ask(srv.address, "/dreamdeck/strength/get")
        assert srv.stats["action_unavailable"] == 1


def test_presets_save_list_rename_delete_and_recall_over_osc(store, peer, tmp_path):
    """The real ShowControl and preset store behind OSC: every preset operation from a surface."""
    from app.osc import OscServer
    from app.presets.store import PresetStore
    from app.show_control import ShowControl

    show = ShowControl(store, presets=PresetStore(directory=tmp_path))
    show.start()
    try:
        with OscServer(store, show, port=0) as srv:
            to = srv.address
            store.set("strength", 0.33)
            peer.send(to, "/dreamdeck/preset/save", "gig look")
            wait_for(lambda: (tmp_path / "gig look.json").exists() or any(tmp_path.iterdir()), what="preset file")
            assert "gig look" in peer.ask(to, "/dreamdeck/preset/list")[0][1]
            peer.send(to, "/dreamdeck/preset/rename", "gig look", "encore")
            wait_for(lambda: "encore" in show.preset_names(), what="rename")
            store.update({"preset_fade_time": 0.0, "strength": 0.9})
            peer.send(to, "/dreamdeck/preset/recall", "encore")
            wait_for(lambda: abs(store.get("strength") - 0.33) < 1e-9, what="recall")
            peer.send(to, "/dreamdeck/preset/delete", "encore")
            wait_for(lambda: "encore" not in show.preset_names(), what="delete")
            peer.send(to, "/dreamdeck/preset/rename", "only-one-name")  # wrong arity: refused, counted
            peer.send(to, "/dreamdeck/preset/delete", "no-such-preset")  # refused by the store, counted
            wait_for(lambda: srv.stats["wrong_type"] >= 1 and srv.stats["action_refused"] >= 1, what="refusals")
    finally:
        show.stop()
