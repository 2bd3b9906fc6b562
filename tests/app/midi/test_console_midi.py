"""MIDI in the console: the port is chosen in the window, a control is learned from a right-click, and a
CC sent through a real JACK virtual port moves the console's slider and the registry."""

import json
import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import mido
import pytest

from waiting import wait_for



@pytest.fixture
def console(qtbot, tmp_path, midi_options, monkeypatch):
    from PySide6.QtCore import QSettings

    from ui.audio_panel import AudioPanel

    # PortAudio must never meet this test run's JACK server (it would stay bound to it after the MIDI tests
    # stop the server, and abort the process at exit): the audio tab does not look for devices here
    monkeypatch.setattr(AudioPanel, "rescan", lambda self: None)

    from app.gui import build_session
    from app.presets.store import PresetStore
    from app.session import SessionConfig
    from app.show_control import ShowControl
    from engine.live.pipeline import IdentityStage
    from engine.params.catalog import engine_store
    from ui.main_window import MainWindow

    store = engine_store()
    store.update({"size": 64, "output_size": "512x512"})
    config = SessionConfig(osc=None, midi_api=midi_options["api"], midi_client=midi_options["client_name"],
                           midi_data_dir=str(tmp_path / "data"))
    session = build_session(store, "pattern", show=ShowControl(store, presets=PresetStore(tmp_path / "presets", params=store.params)),
                            generator=IdentityStage(64), config=config)
    session.start(load_model=False)
    window = MainWindow(session, settings=QSettings(str(tmp_path / "dd.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(window)
    window.show()
    yield window
    window.shutdown()


def test_a_cc_learned_in_the_console_moves_its_slider_and_the_registry(console, controller_port, qtbot, tmp_path, send,
                                                                       wait_connected):
    from PySide6.QtWidgets import QWidget

    port, name = controller_port
    panel = console.midi_panel
    panel.rescan(wait=True)
    i = panel.port_box.findData(name)
    assert i > 0, [panel.port_box.itemText(k) for k in range(panel.port_box.count())]
    panel.port_box.setCurrentIndex(i)
    panel.use_selected()  # as choosing it in the box does
    midi = console.session.midi
    assert midi.state().port == name, panel.message
    wait_connected(midi.controller, port)

    # right-click on the strength slider -> "Learn MIDI for strength", then move a fader
    slider = console.findChild(QWidget, "param:strength")
    menu = console.bridge.control_menu(slider, "strength")
    learn = next(a for a in menu.actions() if a.text().startswith("Learn MIDI"))
    learn.trigger()
    assert midi.state().learning == "strength"
    send(midi.controller, port, mido.Message("control_change", channel=2, control=21, value=64))
    wait_for(lambda: midi.state().learning is None, what="the mapping to be learned")

    # learned in the console, written to the mappings file that `dreamdeck midi` uses
    saved = tmp_path / "data" / "midi_mappings.json"
    wait_for(saved.exists, what="the shared mappings file")
    text = saved.read_text()
    assert "strength" in text and json.loads(text)
    from app.midi.mapping_file import default_path

    assert default_path(tmp_path / "data") == saved

    # the fader picks the value up (soft takeover) and then drives it: registry and slider follow
    send(midi.controller, port, *[mido.Message("control_change", channel=2, control=21, value=v) for v in range(60, 128)])
    store = console.session.store
    assert store.get("strength") == pytest.approx(store.spec("strength").maximum)
    qtbot.waitUntil(lambda: abs(slider.value() - store.get("strength")) < 1e-6, timeout=3000)
    console._refresh_hud()
    assert "MIDI 1" in console.hud.cells["midi"].text() and "1 mappings" in panel.status.text()


def test_a_port_that_is_not_there_is_said_in_the_panel_and_midi_stays_off(console):
    panel = console.midi_panel
    assert not panel.use("no such controller at all")
    assert console.session.midi.state().port is None
    assert "no such controller" in panel.status.text().lower() or "no midi input" in panel.status.text().lower()
