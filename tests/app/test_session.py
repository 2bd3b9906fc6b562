"""The show session: one Qt-free object that the console and ``dreamdeck live`` both run."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1].parent


def test_one_show_through_the_session_with_no_qt_loaded(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "tests" / "app" / "session_show.py"), str(tmp_path)],
                       capture_output=True, text=True, timeout=400, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-3000:]
    seen = json.loads(r.stdout.strip().splitlines()[-1])
    assert seen["qt_loaded"] == []
    assert any("listening on 127.0.0.1" in line for line in seen["start"])
    assert seen["model_name"] == "tiny" and seen["blackout"] is True
    assert "all.mp4" in seen["bad_source"] and "\n" not in seen["bad_source"]
    assert seen["source"] == "pattern:static"
    assert seen["sinks"] == [f"record:{tmp_path / 'first.mp4'}"]
    assert ".xyz" in seen["bad_sink"]
    assert seen["output"][0] == [640, 360]
    assert seen["after_failed_load"] == ["tiny", "tiny"]  # a failed load leaves the running model named
    assert seen["first_recorded"] and seen["second_recorded"]


def _session(tmp_path, release=None):
    """A session whose loads wait for ``release`` (what a slow download looks like to the session)."""
    import threading

    from app.presets.store import PresetStore
    from app.session import SessionConfig, ShowSession
    from app.show_control import ShowControl
    from engine.live.pipeline import IdentityStage
    from engine.params.catalog import engine_store

    store = engine_store()
    store.update({"size": 64, "output_size": "512x512"})
    release = release or threading.Event()
    loaded = []

    def load(name, progress, cancel, warn=None, **options):
        progress("downloading", 0.5)
        release.wait(30)
        loaded.append(name)
        return name

    show = ShowControl(store, presets=PresetStore(tmp_path / "presets", params=store.params))
    session = ShowSession(store, SessionConfig(osc=None), show=show, load=load,
                          make_generator=lambda bundle: IdentityStage(64))
    return session, store, loaded, release


def test_a_model_asked_for_during_a_load_is_loaded_next_and_named_by_the_registry(tmp_path):
    from waiting import wait_for

    session, store, loaded, release = _session(tmp_path)
    session.start(load_model=False)
    try:
        session.load_model("first")
        wait_for(lambda: session.status().model.stage == "downloading", what="the first load")
        store.set("model", "second", source="osc")  # another surface asks while the first still loads
        release.set()
        wait_for(lambda: loaded == ["first", "second"] and session.status().model.running == "second", timeout=20,
                 what="the second model after the first")
        wait_for(lambda: store.get("model") == "second", what="the registry to name the running model")
    finally:
        release.set()
        session.stop()


def test_a_preset_recall_never_switches_the_model(tmp_path):
    import threading

    from waiting import wait_for

    release = threading.Event()
    release.set()
    session, store, loaded, _ = _session(tmp_path, release)
    session.show.presets.save("old-look", {"model": "tiny", "strength": 0.3})  # looks saved before: they carry tiny
    store.set("model", "real/model")
    session.start()
    try:
        wait_for(lambda: session.status().model.running == "real/model", what="the model")
        store.set("preset_fade_time", 0.0)
        session.recall("old-look")
        wait_for(lambda: store.get("strength") == 0.3, what="the look")
        wait_for(lambda: store.get("model") == "real/model", what="the registry to name the running model again")
        assert loaded == ["real/model"]
    finally:
        session.stop()


def test_a_preset_saved_in_the_console_session_gets_a_thumbnail_of_the_output(tmp_path):
    from waiting import wait_for

    from app.gui import build_session
    from app.presets.store import PresetStore
    from app.session import SessionConfig
    from app.show_control import ShowControl
    from engine.live.pipeline import IdentityStage
    from engine.params.catalog import engine_store

    store = engine_store()
    store.update({"size": 64, "output_size": "512x512"})
    show = ShowControl(store, presets=PresetStore(tmp_path / "presets", params=store.params))
    session = build_session(store, "pattern", show=show, generator=IdentityStage(64), config=SessionConfig(osc=None))
    session.start(load_model=False)
    try:
        wait_for(lambda: session.preview.latest()[0] is not None, what="an output frame")
        session.trigger("preset_save", "with picture")
        path = show.thumbnail_path("with picture")
        assert path is not None and path.stat().st_size > 0  # taken from the preview the session wired in
    finally:
        session.stop()
