"""A source that fails is named in the console while it happens: HUD cell, state line and fault log."""

from app.input_tap import TappedSource
from engine.sources import make_source


def test_a_missing_file_source_is_named_at_once_and_cleared_when_the_source_is_back(window, qtbot, tmp_path):
    missing = tmp_path / "nothere.mp4"
    window.session.pipeline.set_source(TappedSource(make_source(f"file:{missing}")))
    window.session.source_spec = f"file:{missing}"
    qtbot.waitUntil(lambda: "SOURCE" in window.hud.cells["faults"].text(), timeout=10000)
    assert "not found" in window.hud.cells["faults"].text()
    qtbot.waitUntil(lambda: "not found" in window.fault_log.now.text() and window.fault_log.list.count() > 0, timeout=5000)
    assert "not found" in window.state_label.text()
    assert window.tabs.tabText(window.fault_tab).startswith("Faults (")
    window.session.pipeline.set_source(TappedSource(make_source("pattern")))
    window.session.source_spec = "pattern"
    qtbot.waitUntil(lambda: "no fault now" in window.fault_log.now.text(), timeout=10000)
    qtbot.waitUntil(lambda: "SOURCE" not in window.hud.cells["faults"].text(), timeout=5000)


def test_a_long_fault_message_never_widens_the_window(window, qtbot, tmp_path):
    width = window.width()
    missing = tmp_path.joinpath(*["a-very-long-folder-name-" * 6] * 4, "nothere.mp4")
    window.session.pipeline.set_source(TappedSource(make_source(f"file:{missing}")))
    window.session.source_spec = f"file:{missing}"
    qtbot.waitUntil(lambda: "SOURCE" in window.hud.cells["faults"].text(), timeout=10000)
    qtbot.waitUntil(lambda: "not found" in window.state_label.text(), timeout=5000)
    assert window.minimumSizeHint().width() <= width and window.width() == width
    assert "not found" in window.hud.cells["faults"].toolTip()
