"""Safety from anywhere: the safety actions fire whatever has the keyboard (a text field, the F1 help, an open
live-lock question, the Output window), and Esc only ever dismisses."""

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLineEdit

CTRL, SHIFT = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier


def _field(window) -> QLineEdit:
    field = window.findChild(QLineEdit, "param:prompt.1.text")
    assert field is not None
    window.tabs.setCurrentIndex(0)
    field.setFocus()
    return field


@pytest.mark.parametrize("key, mods, param", [(Qt.Key.Key_B, CTRL, "blackout"), (Qt.Key.Key_F, CTRL, "freeze"),
                                              (Qt.Key.Key_P, CTRL, "passthrough"),
                                              (Qt.Key.Key_B, CTRL | SHIFT, "fade_to_black")])
def test_each_safety_toggle_fires_with_the_keyboard_in_a_text_field(window, qtbot, key, mods, param):
    field = _field(window)
    qtbot.keyClick(field, key, mods)
    assert window.session.store.get(param) is True
    qtbot.keyClick(field, Qt.Key.Key_B)  # the plain letter types there
    assert field.text().endswith("b") and window.session.store.get("blackout") is (param == "blackout")


def test_panic_fires_from_a_text_field_and_esc_there_only_leaves_it(window, qtbot):
    store = window.session.store
    field = _field(window)
    qtbot.keyClick(field, Qt.Key.Key_Escape)
    assert store.get("blackout") is False and not field.hasFocus()
    field.setFocus()
    qtbot.keyClick(field, Qt.Key.Key_Escape, SHIFT)
    assert store.get("blackout") is True


def test_safety_fires_with_the_help_open_and_esc_closes_the_help_without_panic(window, qtbot):
    store = window.session.store
    window.toggle_help()
    assert window.help.isVisible()
    qtbot.keyClick(window, Qt.Key.Key_F)
    assert store.get("freeze") is True
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    assert not window.help.isVisible() and store.get("blackout") is False
    qtbot.keyClick(window, Qt.Key.Key_Escape, SHIFT)
    assert store.get("blackout") is True


def test_safety_fires_while_a_live_lock_question_is_open(window, qtbot):
    store = window.session.store
    window.live_button.setChecked(True)
    window.model_panel.name_box.setCurrentText("tiny")
    window.model_panel.load_clicked()
    assert window.confirm_bar.asking
    qtbot.keyClick(window, Qt.Key.Key_B)
    window.safety.buttons["freeze"].click()
    assert store.get("blackout") is True and store.get("freeze") is True and window.confirm_bar.asking
    qtbot.keyClick(window, Qt.Key.Key_Escape)  # answers the question "no"
    assert not window.confirm_bar.asking and not window.model_panel.busy


def test_safety_fires_from_the_output_window(window, qtbot):
    store = window.session.store
    window.output_button.setChecked(True)
    ow = window.output_window
    ow.activateWindow()  # the keyboard is the output window's (as after a click on it)
    qtbot.waitUntil(ow.isActiveWindow, timeout=2000)
    qtbot.keyClick(ow, Qt.Key.Key_P)
    qtbot.keyClick(ow, Qt.Key.Key_Escape, SHIFT)
    assert store.get("passthrough") is False and store.get("blackout") is True  # PANIC also ends passthrough
    assert window.output_window is ow  # Shift+Esc is PANIC, not close
    qtbot.keyClick(ow, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: window.output_window is None, timeout=2000)


def test_a_click_on_a_safety_button_takes_the_keyboard_out_of_a_text_field(window, qtbot):
    field = _field(window)
    window.safety.buttons["freeze"].click()
    assert not field.hasFocus()


def test_one_action_releases_panic_completely_and_the_buttons_show_what_goes_out(window, qtbot):
    store = window.session.store
    store.set("passthrough", True)
    qtbot.keyClick(window, Qt.Key.Key_Escape, SHIFT)  # PANIC: blackout, and the safe preset's fade to black
    qtbot.waitUntil(lambda: window.safety.buttons["blackout"].isChecked() and window.safety.buttons["fade_to_black"].isChecked(),
                    timeout=2000)
    window.safety.release_button.click()  # one action
    assert not any(store.get(n) for n in ("blackout", "blackout_momentary", "freeze", "passthrough", "fade_to_black"))
    qtbot.waitUntil(lambda: not any(b.isChecked() for b in window.safety.buttons.values()), timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_B)
    qtbot.keyClick(window, Qt.Key.Key_R, SHIFT)  # and by its key
    assert store.get("blackout") is False
