"""Two-way binding: controls write the registry; registry changes from other threads move the controls."""

import threading

from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLineEdit

from ui.binding import GUI


def _control(window, name):
    from PySide6.QtWidgets import QWidget

    w = window.findChild(QWidget, f"param:{name}")
    assert w is not None, name
    return w


def test_slider_writes_the_registry(window):
    seen = []
    window.session.store.subscribe(lambda n, v, s: seen.append((n, v, s)))
    slider = _control(window, "strength")
    slider.setValue(0.8)
    assert abs(window.session.store.get("strength") - 0.8) < 1e-6
    assert ("strength", seen[-1][1], GUI) == seen[-1] and abs(seen[-1][1] - 0.8) < 1e-6


def test_registry_change_from_another_thread_moves_the_slider_without_echo(window, qtbot):
    store = window.session.store
    sources = []
    store.subscribe(lambda n, v, s: sources.append(s))
    t = threading.Thread(target=lambda: store.update({"strength": 0.3, "guidance": "full", "similarity_filter": True}, source="osc"))
    t.start()
    t.join()
    slider = _control(window, "strength")
    qtbot.waitUntil(lambda: abs(slider.value() - 0.3) < 1e-6, timeout=2000)
    combo = _control(window, "guidance")
    assert isinstance(combo, QComboBox) and combo.currentText() == "full"
    box = _control(window, "similarity_filter")
    assert isinstance(box, QCheckBox) and box.isChecked()
    QApplication.processEvents()  # anything the moves queued has run (a write-back would be made while moving)
    assert sources == ["osc"] * 3  # nothing written back by the GUI


def test_prompt_text_applies_on_enter_only(window, qtbot):
    from PySide6.QtCore import Qt

    edit = _control(window, "prompt.2.text")
    assert isinstance(edit, QLineEdit)
    edit.setFocus()
    qtbot.keyClicks(edit, "neon city")
    assert window.session.store.get("prompt.2.text") == ""
    qtbot.keyClick(edit, Qt.Key.Key_Return)
    assert window.session.store.get("prompt.2.text") == "neon city"


def test_a_refused_value_is_reported_not_raised(window):
    assert window.bridge.write({"output_fps": 0}) is False
    assert "output_fps" in window.statusBar().currentMessage()
