"""Output window on a chosen screen, prompt deck tools, seeds, OSC monitor, output size / fps restart."""

import threading

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication


def test_output_window_opens_on_the_chosen_screen_shows_frames_and_closes(window, qtbot):
    screens = QGuiApplication.screens()
    assert screens
    window.screen_combo.setCurrentIndex(len(screens) - 1)
    chosen = window.screen_combo.currentData()
    window.output_button.setChecked(True)
    ow = window.output_window
    assert ow is not None and ow.isVisible() and ow.screen() == chosen
    # full screen and frameless on a second screen; with one screen a normal window (it would cover the console)
    assert bool(ow.windowFlags() & Qt.WindowType.FramelessWindowHint) == (len(screens) > 1)
    assert "Esc closes" in ow.hint.text()
    qtbot.waitUntil(lambda: ow.view.frames_shown > 0 and ow.view.last_image() is not None, timeout=5000)
    qtbot.keyClick(ow, Qt.Key.Key_B)  # the show's keys act from the output window too
    assert window.session.store.get("blackout") is True
    qtbot.keyClick(ow, Qt.Key.Key_B)
    qtbot.keyClick(ow, Qt.Key.Key_Escape)  # Esc there closes it (and is not Panic)
    qtbot.waitUntil(lambda: window.output_window is None, timeout=2000)
    assert not window.output_button.isChecked() and window.session.store.get("blackout") is False
    window.output_button.setChecked(True)  # the toggle opens and closes it too
    assert window.output_window is not None
    window.output_button.setChecked(False)
    assert window.output_window is None


def test_prompt_mute_restores_weight_reorder_in_one_update_clear_and_add(window):
    deck, store = window.prompt_deck, window.session.store
    store.update({"prompt.1.text": "a", "prompt.1.weight": 0.7, "prompt.2.text": "b", "prompt.2.weight": 0.3})
    deck.mute_buttons[1].setChecked(True)
    assert store.get("prompt.1.weight") == 0.0
    deck.mute_buttons[1].setChecked(False)
    assert abs(store.get("prompt.1.weight") - 0.7) < 1e-6
    versions = []
    store.subscribe(lambda n, v, s: versions.append(store.snapshot().version))
    assert deck.move(1, +1)
    assert (store.get("prompt.1.text"), store.get("prompt.2.text")) == ("b", "a")
    assert abs(store.get("prompt.2.weight") - 0.7) < 1e-6 and abs(store.get("prompt.1.weight") - 0.3) < 1e-6
    assert len(set(versions)) == 1  # one registry version: never half a swap
    assert not deck.move(1, -1)
    assert deck.clear(1)
    assert (store.get("prompt.1.text"), store.get("prompt.1.weight")) == ("", 0.0)
    deck.add_edit.setText("neon rain")
    deck.add_from_edit()
    assert store.get("prompt.1.text") == "neon rain" and store.get("prompt.1.weight") == 1.0
    assert "fixed 4 prompt slots" in deck.toolTip()


def test_seed_randomise_respects_locks(window):
    deck, store = window.prompt_deck, window.session.store
    before = {i: store.get(f"seed.{i}.value") for i in deck.seed_locks}
    deck.seed_locks[1].setChecked(True)
    assert not deck.seed_random[1].isEnabled() and not deck.randomise_seed(1)
    for _ in range(3):  # a random draw may repeat; three in a row will not
        deck.randomise_unlocked()
        if all(store.get(f"seed.{i}.value") != before[i] for i in deck.seed_locks if i != 1):
            break
    assert store.get("seed.1.value") == before[1]
    assert all(0 <= store.get(f"seed.{i}.value") <= 2**31 - 1 for i in deck.seed_locks)
    assert any(store.get(f"seed.{i}.value") != before[i] for i in deck.seed_locks if i != 1)


class _FakeServer:
    def __init__(self):
        self.stats = {"messages": 0, "malformed": 0}
        self.address = ("127.0.0.1", 9000)


class _FakeOsc:
    def __init__(self):
        self.server = _FakeServer()

    @property
    def stats(self):
        return dict(self.server.stats)

    def stop(self):
        pass


def test_osc_monitor_lists_osc_changes_and_errors_and_the_hud_shows_the_address(qtbot, make_session, settings):
    from ui.main_window import MainWindow

    console = make_session()
    console.start(load_model=False)
    console.osc = _FakeOsc()  # the counters of a running OSC server (nothing bound in the test)
    w = MainWindow(console, settings=settings)
    qtbot.addWidget(w)
    try:
        mon = w.osc_monitor
        t = threading.Thread(target=lambda: console.store.update({"strength": 0.4}, source=("127.0.0.1", 5555)))
        t.start()
        t.join()
        console.store.update({"strength": 0.5}, source="gui")  # not OSC: not listed
        qtbot.waitUntil(lambda: any("/strength" in line for line in mon.lines()), timeout=2000)
        assert len([ln for ln in mon.lines() if "strength" in ln]) == 1 and "127.0.0.1:5555" in mon.lines()[-1]
        mon.poll_errors()  # the baseline
        console.osc.server.stats.update({"messages": 40, "malformed": 3})
        mon.poll_errors()
        assert any("malformed +3" in line for line in mon.lines())
        w._refresh_hud()
        w._refresh_hud()
        assert "/dreamdeck/strength" in w.hud.cells["osc"].text() and "msg/s" in w.hud.cells["osc"].toolTip()
    finally:
        w.shutdown()


def test_changing_output_size_restarts_the_output_at_the_new_size(window, qtbot):
    def size():
        img = window.session.preview.latest()[0]
        return None if img is None else img.shape[:2]

    qtbot.waitUntil(lambda: size() == (512, 512), timeout=5000)
    old = window.session.pipeline
    combo = window.output_panel.size_box
    combo.setCurrentText("640x360")  # as the operator picks it
    qtbot.waitUntil(lambda: window.session.pipeline is not old, timeout=3000)
    assert not old.running
    qtbot.waitUntil(lambda: size() == (360, 640), timeout=5000)
    window.output_panel.fps_box.setValue(24)
    qtbot.waitUntil(lambda: getattr(window.session.pipeline, "out_fps", None) == 24.0, timeout=3000)
    assert not window.output_panel.apply_button.isVisible()


def test_live_lock_refusal_keeps_the_running_size(window, qtbot):
    window.live_button.setChecked(True)
    old = window.session.pipeline
    window.output_panel.size_box.setCurrentText("640x360")
    qtbot.waitUntil(lambda: window.confirm_bar.asking, timeout=2000)  # asked inline once the change reaches the panel
    assert "640x360" in window.confirm_bar.question.text()
    window.confirm_bar.no_button.click()
    qtbot.waitUntil(lambda: window.session.store.get("output_size") == "512x512", timeout=2000)
    assert window.session.pipeline is old and old.running


def test_source_panel_remembers_the_last_source_and_takes_a_screen_region(window, settings):
    panel = window.source_panel
    assert panel.use("pattern:static")
    assert settings.value("last_source") == "pattern:static"
    i = panel.picker.findData("screen")
    panel.picker.setCurrentIndex(i)
    panel.region.setText("0, 0, 320, 240")
    panel.use_selected()
    if window.session.source_spec == "screen:0,0,320,240":  # a desktop session: the region went on air
        assert settings.value("last_source") == "screen:0,0,320,240"
    else:  # no display: refused with the source's own message, and nothing changed
        assert "screen" in panel.status.text()
        assert settings.value("last_source") == "pattern:static"
