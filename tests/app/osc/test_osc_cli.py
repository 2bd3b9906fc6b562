"""The OSC reference in the repo, `dreamdeck osc-docs`, and the --osc-* options of `dreamdeck live`."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from osc_helpers import Listener, Peer

from app.cli import main
from app.errors import UserError
from app.osc import OscServer
from app.osc.reference import engine_reference
from app.osc.service import OscService

ROOT = Path(__file__).resolve().parents[3]
DOCS = ROOT / "docs" / "osc.md"


def test_the_committed_osc_reference_matches_the_registry():
    assert DOCS.is_file(), "docs/osc.md is missing: run 'dreamdeck osc-docs'"
    assert DOCS.read_text(encoding="utf-8") == engine_reference(), "docs/osc.md is stale: run 'dreamdeck osc-docs'"


def test_osc_docs_writes_every_address(tmp_path, capsys):
    from engine.params.catalog import engine_store

    out = tmp_path / "osc.md"
    assert main(["osc-docs", "--output", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    for p in engine_store().params.values():
        assert f"| `{p.osc_address}` |" in text
    for address in ("/dreamdeck/preset/recall", "/dreamdeck/preset/save", "/dreamdeck/tempo/tap", "<address>/norm", "/get"):
        assert address in text
    assert "| `/dreamdeck/size` | s (or i) | a long side (i or s, e.g. 512) or `WxH` (e.g. `768x448`) | - | `\"512\"` | - | reload |" in text
    assert main(["osc-docs", "--output", str(tmp_path / "no" / "osc.md")]) == 2
    assert "does not exist" in capsys.readouterr().err


@pytest.mark.parametrize("args, expect", [
    (["--osc-host", "0.0.0.0"], "--osc-allow"),
    (["--osc-host", "0.0.0.0", "--osc-allow", "my-laptop"], "not an IP address"),
    (["--osc-feedback", "tablet"], "HOST:PORT"),
    (["--osc-port", "70000"], "--osc-port"),
])
def test_live_osc_mistakes_are_one_line(args, expect, capsys):
    assert main(["live", "--model", "tiny", "--source", "pattern", *args]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and expect in err[0], err


def test_a_busy_port_is_an_error_only_when_chosen(store, capsys):
    taken = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    taken.bind(("127.0.0.1", 0))
    try:
        port = taken.getsockname()[1]
        with pytest.raises(UserError, match="cannot listen for OSC"):
            OscService(OscServer(store, port=port), None, port_was_default=False).start()
        service = OscService(OscServer(store, port=port), None, port_was_default=True)
        assert service.start() == "osc: off"  # the default port: the show goes on without OSC
        assert "OSC is off" in capsys.readouterr().err
        service.stop()
    finally:
        taken.close()


def test_stop_joins_the_thread_and_leaves_none(store):
    srv = OscServer(store, port=0).start()
    assert any(t.name == "osc-server" for t in threading.enumerate())
    srv.stop()  # joins the thread: none left once it returns
    assert not any(t.name == "osc-server" for t in threading.enumerate())
    srv.stop()  # twice is harmless


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_live_with_osc_end_to_end():
    """`dreamdeck live` listens, feeds every value back at start, applies a peer's change,
    feeds it back, answers a query, and exits cleanly."""
    listener, peer = Listener(), Peer()
    port = _free_udp_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "live", "--model", "tiny", "--size", "64", "--out-size", "640x360",
         "--duration", "5", "--osc-port", str(port), "--osc-feedback", f"127.0.0.1:{listener.address[1]}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ, HF_HUB_OFFLINE="1"))
    try:
        listener.expect("/dreamdeck/strength", timeout=90)  # the start-up sync
        server = ("127.0.0.1", port)
        peer.send(server, "/dreamdeck/strength", 0.75)
        assert listener.expect("/dreamdeck/strength") == [["/dreamdeck/strength", [0.75]]]
        assert peer.ask(server, "/dreamdeck/strength/get") == [["/dreamdeck/strength", [0.75]]]
        # actions reach the live show's ShowControl: a shipped preset, recalled without a fade,
        # comes back as one bundle of its values
        peer.send(server, "/dreamdeck/preset_fade_time", 0.0)
        listener.expect("/dreamdeck/preset_fade_time")
        peer.send(server, "/dreamdeck/preset/recall", "neon-punch")
        bundle = dict((m[0], m[1]) for m in listener.expect("/dreamdeck/guidance_scale", timeout=10))
        assert bundle["/dreamdeck/guidance_scale"][0] == pytest.approx(1.8) and bundle["/dreamdeck/prompt/2/weight"][0] == pytest.approx(0.4)  # float32 on the wire
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
        listener.close()
        peer.close()
    assert proc.returncode == 0, err
    assert f"osc: listening on 127.0.0.1:{port}; feedback to 127.0.0.1:{listener.address[1]}" in out
