"""NEXT, the cue panel: edits stay off the output until TAKE brings them, with the preset crossfade."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit, QPushButton, QWidget

from ui.binding import ParamBridge
from ui.cue_panel import CuePanel


@pytest.fixture
def panel(qtbot, make_session):
    session = make_session()
    session.store.set("preset_fade_time", 0.0)
    holder = QWidget()  # owns the window's bridge, as the window does: deleted on the GUI thread, never by the GC
    qtbot.addWidget(holder)
    bridge = ParamBridge(session.store, parent=holder)
    p = CuePanel(session, bridge, parent=holder)
    holder.show()
    yield p
    p.shutdown()
    bridge.close()


def test_editing_the_cue_leaves_the_program_alone_and_take_brings_it(panel, qtbot):
    store, cue = panel.session.store, panel.session.show.cue
    edit = panel.findChild(QLineEdit, "cue:param:prompt.1.text")
    edit.setFocus()
    edit.clear()
    qtbot.keyClicks(edit, "glass city")
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    panel.findChild(QWidget, "cue:param:strength").setValue(0.8)
    panel.findChild(QPushButton, "cue:mute:1").click()  # the deck's tools work on the cue too
    panel.findChild(QPushButton, "cue:mute:1").click()
    assert (cue.store.get("prompt.1.text"), cue.store.get("strength")) == ("glass city", pytest.approx(0.8))
    assert (store.get("prompt.1.text"), store.get("strength"), store.get("prompt.1.weight")) == ("", 0.5, 1.0)
    assert panel.findChild(QWidget, "param:prompt.1.text") is None  # never taken for the program's control
    panel.findChild(QPushButton, "action:take").click()
    qtbot.waitUntil(lambda: store.get("prompt.1.text") == "glass city" and store.get("strength") == pytest.approx(0.8),
                    timeout=5000)
    assert "taken" in panel.message.text()


def test_the_picker_cues_a_preset_and_from_program_resets(panel, qtbot):
    session, store, cue = panel.session, panel.session.store, panel.session.show.cue
    store.set("strength", 0.3)
    session.show.save_preset("mine")
    store.set("strength", 0.5)
    panel.refresh()
    picker = panel.picker
    assert "mine" in [picker.itemText(i) for i in range(picker.count())]
    picker.setCurrentText("mine")
    panel.findChild(QPushButton, "cue:pick").click()
    assert cue.store.get("strength") == 0.3 and store.get("strength") == 0.5
    slider = panel.findChild(QWidget, "cue:param:strength")
    assert slider.value() == pytest.approx(0.3)  # shown at once
    assert "mine" in panel.findChild(QLabel, "cue:state").text()
    store.set("strength", 0.9, source="osc")  # the program moves elsewhere: the cue's controls stay
    qtbot.wait(100)
    assert slider.value() == pytest.approx(0.3)
    panel.findChild(QPushButton, "action:cue_reset").click()
    assert cue.store.get("strength") == 0.9 and slider.value() == pytest.approx(0.9)
    assert "own look" in panel.findChild(QLabel, "cue:state").text()


def test_a_refused_cue_is_said_and_changes_nothing(panel):
    before = panel.session.show.cue.store.snapshot()
    assert panel.run("cue_preset", "no-such-look") is False
    assert "no preset named" in panel.message.text()
    assert panel.session.show.cue.store.snapshot() is before
