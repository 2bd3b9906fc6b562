"""Control from the first second: OSC and the safety controls serve while the model is still loading."""

import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_safety_and_osc_act_on_the_output_while_the_model_loads(tmp_path):
    from pythonosc.osc_message_builder import OscMessageBuilder

    from app.gui import build_session
    from app.presets.store import PresetStore
    from app.session import SessionConfig
    from app.show_control import ShowControl
    from engine.params.catalog import engine_store

    store = engine_store()
    store.update({"size": 64, "output_size": "512x512"})
    show = ShowControl(store, presets=PresetStore(tmp_path / "presets", params=store.params))
    store.set("model", "tiny")
    osc = {"osc_port": _free_port(), "osc_host": "127.0.0.1", "osc_feedback": None, "osc_allow": None}
    console = build_session(store, "pattern", show=show, config=SessionConfig(osc=osc))
    osc = console.osc
    release = threading.Event()

    def slow_load(name, progress, cancel, **options):  # a model that takes as long as the test needs
        progress("downloading", 0.3)
        release.wait(30)
        from engine.diffusion.model_loader import load_model

        return load_model(name, progress=progress, cancel=cancel, **options)

    console.model._load = slow_load
    try:
        console.start()  # the registry's model starts loading behind the running show
        wait_for(lambda: console.model.state().stage == "downloading", what="the load to start")
        frames = lambda: console.preview.count
        n = frames()
        wait_for(lambda: frames() > n + 5, what="output frames while loading")  # the input shows meanwhile
        assert console.preview.latest()[0].max() > 0

        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(5)
        port = osc.server.address[1]
        sock.sendto(_msg(OscMessageBuilder, "/dreamdeck/blackout", 1), ("127.0.0.1", port))
        wait_for(lambda: store.get("blackout") is True, what="blackout over OSC")
        n = frames()
        wait_for(lambda: frames() > n + 3 and console.preview.latest()[0].max() == 0, what="a black output")
        sock.sendto(_msg(OscMessageBuilder, "/dreamdeck/strength", "?"), ("127.0.0.1", port))
        assert b"/dreamdeck/strength" in sock.recv(65535)  # answered during the load
        sock.close()
        assert console.model.state().loading == "tiny"  # all of that happened before the model was ready
        release.set()
        wait_for(lambda: console.model.state().ready, timeout=60, what="the model to be ready")
        gen = console.pipeline.snapshot_metrics().frames_generated
        wait_for(lambda: console.pipeline.snapshot_metrics().frames_generated > gen + 2, what="the model painting")
    finally:
        release.set()
        console.stop()


def _msg(builder, address, *args):
    b = builder(address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


@pytest.mark.skipif(not (shutil.which("oscsend") and shutil.which("oscdump")),
                    reason="liblo's oscsend/oscdump are not installed (apt-get install liblo-tools)")
def test_a_third_party_osc_client_gets_feedback_two_seconds_after_listening(tmp_path):
    port, fport = _free_port(), _free_port()
    dump = subprocess.Popen(["oscdump", "-L", str(fport)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    live = subprocess.Popen([sys.executable, "-m", "app.cli", "live", "--source", "pattern", "--model", "tiny", "--size", "64",
                             "--duration", "12", "--osc-port", str(port), "--osc-feedback", f"127.0.0.1:{fport}"],
                            cwd=ROOT, env=dict(os.environ, HF_HUB_OFFLINE="1"), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        lines = []
        for line in live.stdout:
            lines.append(line)
            if "listening on" in line:
                break
        assert lines and "listening on" in lines[-1], lines
        threading.Event().wait(2.0)  # the acceptance case: a client that starts sending 2 s after the line
        subprocess.run(["oscsend", "127.0.0.1", str(port), "/dreamdeck/strength", "f", "0.7"], check=True, timeout=10)
        got = []

        def read():
            for line in dump.stdout:
                got.append(line)
                if "/dreamdeck/strength" in line and "0.7" in line:
                    return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        reader.join(10)
        assert any("/dreamdeck/strength" in l and "0.7" in l for l in got), got[-5:]
        assert any("/dreamdeck/blackout" in l for l in got)  # the start-up dump of all values came too
        for line in live.stdout:  # and OSC was up before the model: the ready line comes after "listening"
            lines.append(line)
            if line.startswith("model: "):
                break
        assert lines[-1].startswith("model: tiny ready"), lines[-3:]
    finally:
        live.terminate()
        live.communicate(timeout=30)
        dump.terminate()
        dump.communicate(timeout=10)
