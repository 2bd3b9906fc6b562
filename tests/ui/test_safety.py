"""The safety bar: keys reach the output frames, Panic leaves the show black and safe."""

import numpy as np
from PySide6.QtCore import Qt


def _bright(window):
    img = window.session.preview.latest()[0]
    return None if img is None else float(img.mean())


def test_blackout_key_makes_the_output_black(window, qtbot):
    qtbot.waitUntil(lambda: (_bright(window) or 0) > 5, timeout=5000)  # the pattern is on the output
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_B)
    assert window.session.store.get("blackout") is True
    qtbot.waitUntil(window.safety.buttons["blackout"].isChecked, timeout=1000)
    qtbot.waitUntil(lambda: _bright(window) == 0.0, timeout=2000)
    qtbot.waitUntil(lambda: window.output_view.last_image() is not None and not np.any(_qimage_array(window.output_view.last_image())), timeout=2000)
    qtbot.keyClick(window, Qt.Key.Key_B)
    assert window.session.store.get("blackout") is False
    qtbot.waitUntil(lambda: (_bright(window) or 0) > 5, timeout=2000)


def test_freeze_passthrough_and_fade_keys_toggle_their_parameters(window, qtbot):
    store = window.session.store
    qtbot.keyClick(window, Qt.Key.Key_F)
    qtbot.keyClick(window, Qt.Key.Key_P)
    qtbot.keyClick(window, Qt.Key.Key_B, Qt.KeyboardModifier.ShiftModifier)
    assert (store.get("freeze"), store.get("passthrough"), store.get("fade_to_black")) == (True, True, True)


def test_panic_blacks_out_stops_fades_and_recalls_the_safe_preset(window, qtbot):
    store = window.session.store
    store.update({"preset_fade_time": 10.0, "passthrough": True, "freeze": True})
    window.session.show.recall_preset("neon-punch")  # a 10 s crossfade in progress
    qtbot.keyClick(window, Qt.Key.Key_Escape, Qt.KeyboardModifier.ShiftModifier)  # PANIC: Shift+Esc
    assert store.get("blackout") is True and store.get("passthrough") is False and store.get("freeze") is False
    assert store.get("fade_to_black") is True  # from 'blackout-safe'
    assert not window.session.show.recaller.busy
    assert window.safety.message == ""
    qtbot.waitUntil(lambda: _bright(window) == 0.0, timeout=2000)


def test_help_overlay_lists_the_keys(window, qtbot):
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert window.help.isVisible() and "PANIC" in window.help.text() and "Shift+B" in window.help.text()
    qtbot.keyClick(window, Qt.Key.Key_F1)
    assert not window.help.isVisible()


def _qimage_array(img):
    from PySide6.QtGui import QImage

    img = img.convertToFormat(QImage.Format.Format_RGB888)
    ptr = img.constBits()
    a = np.frombuffer(ptr, np.uint8, img.bytesPerLine() * img.height()).reshape(img.height(), img.bytesPerLine())
    return a[:, : img.width() * 3]
