"""The console's audio tab drives the real audio engine into a PulseAudio null sink."""

import os
import sys

import numpy as np
import soundfile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "engine", "audio"))
from pulse import pulse_server  # noqa: E402


def test_audio_tab_starts_plays_and_stops(window, qtbot, tmp_path):
    server = pulse_server()
    try:
        t = np.arange(48_000) / 48_000
        path = tmp_path / "tone.wav"
        soundfile.write(path, (0.3 * np.sin(2 * np.pi * 330 * t)).astype(np.float32), 48_000)
        panel = window.audio_panel
        panel.rescan()
        out = panel.output_picker.findData("dd_out")
        assert out >= 0, [panel.output_picker.itemText(i) for i in range(panel.output_picker.count())]
        panel.output_picker.setCurrentIndex(out)
        panel.use_file(str(path))
        window.session.store.update({"audio_azimuth": 70.0})
        panel.run_button.setChecked(True)
        qtbot.waitUntil(lambda: (a := window.session.status().audio.running) is not None and a.seconds_rendered > 0.5, timeout=15000)
        text, colour = panel.refresh()
        assert text.startswith("AUD hrtf"), text
        assert "tone.wav" in panel.status.text() and "running" in panel.status.text()
        window._refresh_hud()
        assert "AUD hrtf" in window.hud.cells["audio"].text()
        panel.run_button.setChecked(False)
        assert window.session.status().audio.running is None and panel.status.text() == "audio off"
    finally:
        window.audio_panel.stop()
        server.close()


def test_audio_tab_reports_a_device_that_does_not_exist(window, qtbot):
    panel = window.audio_panel
    panel.output_picker.addItem("gone", "no-such-device-xyz")
    panel.output_picker.setCurrentIndex(panel.output_picker.count() - 1)
    panel.run_button.setChecked(True)
    qtbot.waitUntil(lambda: "did not start" in panel.status.text() or window.session.status().audio.running is not None, timeout=15000)
    panel.refresh()
    qtbot.waitUntil(lambda: "did not start" in panel.status.text(), timeout=5000)
    assert window.session.status().audio.running is None and not panel.run_button.isChecked()
