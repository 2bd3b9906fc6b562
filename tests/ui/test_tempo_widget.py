"""The tempo widget: BPM shown and typed, TAP through the session, a light on each beat that repaints on change only."""

import pytest
from PySide6.QtWidgets import QDoubleSpinBox, QLabel, QPushButton, QWidget

from ui.binding import ParamBridge
from ui.tempo_widget import TempoWidget


@pytest.fixture
def widget(qtbot, make_session):
    session = make_session()
    holder = QWidget()  # owns the window's bridge, as the window does: deleted on the GUI thread, never by the GC
    qtbot.addWidget(holder)
    bridge = ParamBridge(session.store, parent=holder)
    now = [1000.0]
    session.show.tempo.clock = lambda: now[0]
    w = TempoWidget(session, bridge, parent=holder)
    w.now, w.bridge_ = now, bridge
    holder.show()
    yield w
    bridge.close()


def test_tap_runs_the_tables_tap_through_the_session(widget, monkeypatch):
    session, store = widget.session, widget.session.store
    ran = []
    real = session.trigger
    monkeypatch.setattr(session, "trigger", lambda n, a=None, source=None: (ran.append((n, source)), real(n, a, source=source))[1])
    store.set("bpm", 60.0)
    tap = widget.findChild(QPushButton, "action:tap")
    tap.click()
    widget.now[0] += 0.5
    tap.click()
    assert ran == [("tap", "gui")] * 2 and store.get("bpm") == 120.0
    widget.bridge_.flush()
    assert widget.findChild(QDoubleSpinBox, "param:bpm").value() == 120.0


def test_the_bpm_is_typed_into_and_follows_the_registry(widget):
    box = widget.findChild(QDoubleSpinBox, "param:bpm")
    box.setValue(98.5)
    assert widget.session.store.get("bpm") == 98.5
    widget.session.store.set("bpm", 140.0, source="osc")
    widget.bridge_.flush()
    assert box.value() == 140.0


def test_the_light_flashes_on_each_beat_and_marks_the_bar(widget, monkeypatch):
    tempo, now = widget.session.show.tempo, widget.now
    widget.session.store.set("bpm", 120.0)  # a beat every 0.5 s
    tempo.set_origin(1000.0)
    light = widget.findChild(QLabel, "tempo:beat")
    calls = []
    monkeypatch.setattr(light, "setText", lambda t, real=light.setText: (calls.append(t), real(t)))
    seen = []
    for t in [1000.0 + i / 30 for i in range(int(2.5 * 30))]:  # 2.5 s at 30 ticks a second
        now[0] = t
        if widget.refresh():
            seen.append((light.text(), "#26262d" not in light.styleSheet()))  # lit: not the dark background
    # lit on each beat, dark in between: 5 beats, 10 changes, not 75 repaints
    assert [s for s in seen if s[1]] == [("1", True), ("2", True), ("3", True), ("4", True), ("1", True)]
    assert len(seen) == len(calls) == 10
    assert "#f0c419" in _style_at(widget, now, 1002.01) and "#3ad36a" in _style_at(widget, now, 1002.51)


def _style_at(widget, now, t):
    now[0] = t
    widget.refresh()
    return widget.light.styleSheet()


def test_the_light_runs_only_while_shown(widget):
    assert widget._timer.isActive()
    widget.hide()
    assert not widget._timer.isActive()
