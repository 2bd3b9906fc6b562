"""The small things a VJ tripped over: the wheel, long prompts, choosing a file, status messages."""

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QFileDialog, QLineEdit, QSlider, QWidget


def _wheel(widget: QWidget) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), QPoint(0, -120), Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_wheel_over_a_slider_scrolls_past_it_unless_it_was_clicked(window):
    store = window.session.store
    slider = window.safety.findChild(QWidget, "param:brightness").findChild(QSlider)
    _wheel(slider)
    assert store.get("brightness") == 1.0  # scrolling past the brightness slider never dims the show
    slider.setFocus()
    _wheel(slider)
    assert store.get("brightness") < 1.0


def test_a_long_prompt_shows_its_beginning(window, qtbot):
    field = window.findChild(QLineEdit, "param:prompt.1.text")
    window.session.store.set("prompt.1.text", "a cathedral of light " + "and more words " * 20, source="osc")
    qtbot.waitUntil(lambda: field.text().startswith("a cathedral"), timeout=2000)
    assert field.cursorPosition() == 0


def test_choosing_image_opens_a_chooser_at_once_that_never_blocks_the_safety_keys(window, qtbot):
    picker = window.source_panel.picker
    i = picker.findData("image:")
    picker.setCurrentIndex(i)
    picker.activated.emit(i)
    dialogs = [d for d in window.findChildren(QFileDialog) if d.isVisible()]
    assert len(dialogs) == 1 and not dialogs[0].isModal()
    qtbot.keyClick(window, Qt.Key.Key_B)  # the show's keys work while it is open
    assert window.session.store.get("blackout") is True
    dialogs[0].reject()
    assert window.session.source_spec == "pattern"  # cancelled: the show keeps its source


def test_saving_a_preset_asks_no_question(window):
    panel = window.presets_panel
    panel.name_edit.setText("after midnight")
    panel.buttons["preset_save"].click()
    assert "after midnight" in window.session.show.preset_names()
    assert not [w for w in QApplication.topLevelWidgets() if w.isVisible() and w.isModal()]


def test_a_status_message_never_moves_the_safety_bar(window, qtbot):
    qtbot.wait(50)
    before = window.safety.mapTo(window, window.safety.rect().topLeft())
    window.statusBar().showMessage("something happened", 5000)
    qtbot.wait(50)
    assert window.safety.mapTo(window, window.safety.rect().topLeft()) == before


def test_the_fresh_look_button_starts_the_look_clean(window):
    store = window.session.store
    store.update({"strength": 0.9, "prompt.1.text": "neon"})
    window.fresh_button.click()
    assert window.confirm_bar.asking and store.get("strength") == 0.9  # asked first, always
    window.confirm_bar.yes_button.click()
    assert store.get("strength") == store.spec("strength").default and store.get("prompt.1.text") == ""
    assert store.get("output_size") == "512x512"  # the set-up stays
