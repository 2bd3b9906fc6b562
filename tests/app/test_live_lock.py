"""The live lock holds every change that reloads, from any surface, until a yes: nothing reloads silently."""

import pytest

from waiting import wait_for


@pytest.fixture
def session(tmp_path):
    from app.presets.store import PresetStore
    from app.session import SessionConfig, ShowSession
    from app.show_control import ShowControl
    from engine.live.pipeline import IdentityStage
    from engine.params.catalog import engine_store

    store = engine_store()
    store.update({"size": 64, "output_size": "512x512", "output_fps": 30, "preset_fade_time": 0.0})
    show = ShowControl(store, presets=PresetStore(tmp_path / "presets", params=store.params))
    s = ShowSession(store, SessionConfig(osc=None), show=show, generator=IdentityStage(64))
    s.start(load_model=False)
    yield s
    s.stop()


OSC, MIDI = ("127.0.0.1", 9999), "midi"


def test_reload_changes_from_every_surface_wait_and_the_rest_apply(session):
    store = session.store
    session.set_live_lock(True)
    store.set("steps", 4, source=OSC)
    store.update({"size": 128, "strength": 0.3}, source=MIDI)  # one reloads, one does not
    session.show.presets.save("big", {"output_fps": 25, "prompt.1.text": "sea"})
    session.recall("big")
    wait_for(lambda: store.get("prompt.1.text") == "sea", what="the preset's look")
    assert (store.get("steps"), store.get("size"), store.get("output_fps"), store.get("strength")) == (2, "64", 30, 0.3)
    status = session.status()
    assert status.live_lock and status.held == {"steps": 4, "size": "128", "output_fps": 25}
    old = session.pipeline
    assert session.answer_held(True) == {"steps": 4, "size": "128", "output_fps": 25}
    assert (store.get("steps"), store.get("size"), store.get("output_fps")) == (4, "128", 25)
    assert session.pipeline is not old and session.pipeline.out_fps == 25.0  # the output restarted at the new rate
    assert session.status().held == {}


def test_a_no_drops_what_was_held_and_unlocked_changes_apply_at_once(session):
    store = session.store
    session.set_live_lock(True)
    store.set("frame_buffer_size", 2, source=OSC)
    assert session.answer_held(False) == {"frame_buffer_size": 2} and store.get("frame_buffer_size") == 1
    session.set_live_lock(False)
    store.set("frame_buffer_size", 2, source=OSC)
    assert store.get("frame_buffer_size") == 2 and session.status().held == {}
    assert session.remembered("live_lock") is False


def test_a_model_asked_for_under_the_lock_loads_only_after_the_yes(session):
    store = session.store
    session.set_live_lock(True)
    store.set("model", "other/model", source=OSC)
    assert store.get("model") != "other/model" and session.status().model.loading is None
    asked = []
    session.load_model = lambda name: asked.append(name) or True
    session.answer_held(True)
    assert asked == ["other/model"]


def test_a_yes_to_a_new_output_rate_finishes_the_recording_instead_of_losing_it(session, tmp_path):
    from video_files import read_video

    path = tmp_path / "night.mp4"
    name = session.add_sink(f"record:{path}")
    wait_for(lambda: session.sink(name).frames > 20, timeout=20, what="frames recorded")
    session.set_live_lock(True)
    session.store.set("output_fps", 24, source=OSC)
    session.answer_held(True)
    assert session.sink(name) is None and f"record:{path}" not in session.status().sinks  # finished, not carried
    frames, fps = read_video(path)
    assert len(frames) > 20 and fps == 30  # what was recorded before the change is all there
