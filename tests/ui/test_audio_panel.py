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


def test_the_video_on_air_can_be_the_sound(window, qtbot, tmp_path):
    """'The video on air' plays the sound of the file source through the engine (its label names the source)."""
    import subprocess

    import pytest

    from shutil import which

    if which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed (apt install ffmpeg)")
    clip = tmp_path / "clip.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=160x90:rate=30", "-f", "lavfi", "-i",
                    "sine=frequency=440:sample_rate=48000", "-t", "3", "-c:v", "libx264", "-c:a", "aac", str(clip)], check=True)
    server = pulse_server()
    try:
        window.session.use_source(f"file:{clip}")
        panel = window.audio_panel
        panel.rescan()
        panel.output_picker.setCurrentIndex(panel.output_picker.findData("dd_out"))
        source = panel.input_picker.findData("source")
        assert source >= 0 and "video on air" in panel.input_picker.itemText(source)
        panel.input_picker.setCurrentIndex(source)
        panel.run_button.setChecked(True)
        qtbot.waitUntil(lambda: (a := window.session.status().audio.running) is not None and a.seconds_rendered > 0.5,
                        timeout=15000)
        assert "running" in panel.status.text(), panel.status.text()
        assert "source" in window.session.status().audio.running.input
    finally:
        window.audio_panel.stop()
        server.close()
