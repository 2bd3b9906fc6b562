"""One show driven through app.session.ShowSession alone, in a process that never loads Qt.

Run by tests/app/test_session.py as ``python tests/app/session_show.py TMPDIR``; prints one JSON
object of what it saw, and exits non-zero on the first thing that did not happen.
"""

import json
import socket
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from waiting import wait_for  # noqa: E402


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def osc_message(address: str, *args) -> bytes:
    from pythonosc.osc_message_builder import OscMessageBuilder

    b = OscMessageBuilder(address=address)
    for a in args:
        b.add_arg(a)
    return b.build().dgram


def main(tmp: Path) -> dict:
    from app.presets.store import PresetStore
    from app.session import SessionConfig, SessionError, ShowSession, ShowStatus
    from app.show_control import ShowControl
    from engine.params.catalog import engine_store

    seen: dict = {}
    store = engine_store()
    store.update({"size": 64, "output_size": "512x512", "output_fps": 20, "model": "tiny"})
    presets = PresetStore(tmp / "presets", params=store.params)
    presets.save("calm", {"strength": 0.3, "prompt.1.text": "calm sea"})
    port = free_port()
    config = SessionConfig(source="pattern", sinks=(f"record:{tmp / 'first.mp4'}",),
                           osc={"osc_port": port, "osc_host": "127.0.0.1", "osc_feedback": None, "osc_allow": None})
    session = ShowSession(store, config, show=ShowControl(store, presets=presets))
    seen["start"] = session.start()  # the model loads behind a running show
    try:
        wait_for(lambda: session.status().pipeline.frames_out > 5, what="frames out before the model")
        wait_for(lambda: session.status().model.ready, timeout=120, what="the tiny model")
        gen = session.status().pipeline.frames_generated
        wait_for(lambda: session.status().pipeline.frames_generated > gen + 2, what="the model painting")
        status = session.status()
        assert isinstance(status, ShowStatus), type(status)
        seen["model_name"] = status.model_name

        # one OSC message moves the registry; one action by name; one preset by name
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.sendto(osc_message("/dreamdeck/strength", 0.75), ("127.0.0.1", port))
        wait_for(lambda: store.get("strength") == 0.75, what="strength over OSC")
        sock.close()
        session.trigger("blackout")
        seen["blackout"] = store.get("blackout")
        session.trigger("blackout")
        store.set("preset_fade_time", 0.0)
        session.recall("calm")
        wait_for(lambda: store.get("prompt.1.text") == "calm sea", what="the preset")

        # a source that cannot run is refused in one line and the show keeps its source
        try:
            session.use_source("file:/nowhere/at/all.mp4")
            raise AssertionError("a missing file was put on air")
        except SessionError as e:
            seen["bad_source"] = str(e)
        assert session.status().source == "pattern"
        session.use_source("pattern:static")
        seen["source"] = session.status().source

        # outputs by spec: a second recording added and removed while the show runs
        name = session.add_sink(f"record:{tmp / 'second.mp4'}")
        wait_for(lambda: session.sink(name).frames > 3, what="frames recorded")
        session.remove_sink(name)
        seen["sinks"] = list(session.status().sinks)
        try:
            session.add_sink("record:out.xyz")
            raise AssertionError("a recording with an unknown extension was added")
        except SessionError as e:
            seen["bad_sink"] = str(e)

        # the output restarts at a new size with the same source, model and sinks
        store.update({"output_size": "640x360"})
        session.apply_output()
        wait_for(lambda: session.status().pipeline.frames_out > 3, what="frames after the restart")
        seen["output"] = session.status().output

        # another surface asks for a model through the registry: it loads, and the registry names it
        store.set("model", "nothing/at-all", source="osc")
        wait_for(lambda: session.status().model.loads >= 2, timeout=60, what="the second load to end")
        seen["after_failed_load"] = (store.get("model"), session.status().model.running)
    finally:
        session.stop()
    seen["qt_loaded"] = sorted(m for m in sys.modules if m.split(".")[0] in ("PySide6", "shiboken6", "PyQt5", "PyQt6"))
    seen["second_recorded"] = (tmp / "second.mp4").stat().st_size > 0
    seen["first_recorded"] = (tmp / "first.mp4").stat().st_size > 0
    return seen


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1])), default=str))
