"""The console's Output panel: the recording codec is a registry control, and the file name follows it."""

import subprocess
import json
import shutil

import pytest

from ui.io_panel import fit_extension


def test_the_file_name_takes_an_extension_that_holds_the_codec():
    assert fit_extension("show.mp4", "prores") == "show.mov"
    assert fit_extension("show.mov", "h264") == "show.mov"  # QuickTime holds H.264 too: the user's choice stays
    assert fit_extension("show.mov", "hap") == "show.mov"
    assert fit_extension("show.mkv", "hap_q") == "show.mov"
    assert fit_extension("show.mp4", "auto") == "show.mp4"
    assert fit_extension("show", "prores") == "show"  # no extension: the session's one line says what to add


def test_choosing_prores_in_the_console_records_prores_in_a_mov(window, qtbot, tmp_path):
    panel = window.output_panel
    combo = panel.codec_box
    combo.setCurrentIndex(combo.findText("prores"))
    assert window.session.store.get("record_codec") == "prores"
    qtbot.waitUntil(lambda: panel.rec_name.text().endswith(".mov"), timeout=2000)
    panel.rec_name.setText(str(tmp_path / "take.mov"))
    panel.rec_button.setChecked(True)
    qtbot.waitUntil(lambda: (tmp_path / "take.part.mov").exists(), timeout=5000)
    qtbot.wait(600)
    panel.rec_button.setChecked(False)
    assert (tmp_path / "take.mov").is_file()
    if shutil.which("ffprobe") is None:
        pytest.skip("ffprobe is not installed (apt install ffmpeg)")
    r = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(tmp_path / "take.mov")],
                       capture_output=True, text=True)
    video = [s for s in json.loads(r.stdout)["streams"] if s["codec_type"] == "video"]
    assert video[0]["codec_name"] == "prores" and (video[0]["width"], video[0]["height"]) == (512, 512)


def test_hap_in_an_mp4_is_one_red_line_and_nothing_records(window, tmp_path):
    panel = window.output_panel
    window.session.store.set("record_codec", "hap")
    panel.rec_name.setText(str(tmp_path / "take.mp4"))
    panel.rec_button.setChecked(True)
    assert not panel.rec_button.isChecked() and panel.recorder is None
    assert "HAP does not fit in .mp4" in panel.rec_status.text()


def test_a_second_take_never_replaces_the_first(window, qtbot, tmp_path):
    panel = window.output_panel
    panel.rec_name.setText(str(tmp_path / "take.mp4"))
    for _ in range(2):
        panel.rec_button.setChecked(True)
        qtbot.waitUntil(lambda: panel.recorder is not None and window.session.sink(panel.recorder).frames > 5, timeout=5000)
        panel.rec_button.setChecked(False)
    assert sorted(p.name for p in tmp_path.glob("take*")) == ["take-2.mp4", "take.mp4"]
    assert panel.rec_name.text().endswith("take-3.mp4")


def test_free_names_count_on_from_a_number_and_step_over_a_take_being_written(tmp_path):
    from engine.media.files import free_name

    assert free_name(tmp_path / "a.mp4") == tmp_path / "a.mp4"
    (tmp_path / "a.mp4").touch()
    (tmp_path / "a-2.part.mp4").touch()  # a take still being written
    assert free_name(tmp_path / "a.mp4") == tmp_path / "a-3.mp4"
    (tmp_path / "show-7.mov").touch()
    assert free_name(tmp_path / "show-7.mov") == tmp_path / "show-8.mov"
    assert free_name(tmp_path / "2026-12-06.mp4") == tmp_path / "2026-12-06.mp4"
