"""The console asks, inline, before any change that reloads, wherever it came from; a no puts the control back."""

from PySide6.QtWidgets import QSpinBox


def test_a_reload_change_from_osc_or_the_console_waits_for_a_yes(window, qtbot):
    store = window.session.store
    window.live_button.setChecked(True)
    store.set("steps", 3, source=("10.0.0.5", 9000))  # a tablet
    window._refresh_hud()
    assert window.confirm_bar.asking and "steps 3" in window.confirm_bar.question.text() and store.get("steps") == 2
    window.confirm_bar.yes_button.click()
    assert store.get("steps") == 3
    steps = window.findChild(QSpinBox, "param:steps")
    steps.setValue(5)  # the operator's own change waits too
    window._refresh_hud()
    assert window.confirm_bar.asking and store.get("steps") == 3
    window.confirm_bar.no_button.click()
    qtbot.waitUntil(lambda: steps.value() == 3, timeout=2000)  # the screen shows what runs
    assert store.get("steps") == 3 and window.session.status().held == {}


def test_the_question_is_asked_anew_when_what_is_held_changes(window):
    store = window.session.store
    window.live_button.setChecked(True)
    store.set("steps", 3, source="midi")
    window._refresh_hud()
    store.set("steps", 5, source="midi")  # moved again while the question is open
    window._refresh_hud()
    assert "steps 5" in window.confirm_bar.question.text()
    store.set("steps", 2, source="midi")  # back to what runs: nothing is held any more
    window._refresh_hud()
    assert window.session.status().held == {}
