"""The HUD reads the typed live status: GPU load only where there is a GPU, the source's problem first."""

from engine.live.status import LiveStatus
from ui.fault_log import FaultLog
from ui.hud import Hud


def test_the_hud_shows_gpu_load_only_when_the_status_has_a_gpu_reading(qtbot):
    hud = Hud()
    qtbot.addWidget(hud)
    hud.update_from(LiveStatus(cpu_percent=42.0), 30, 30, 30, None)
    assert "CPU 42%" in hud.cells["load"].text() and "GPU" not in hud.cells["load"].text()
    hud.update_from(LiveStatus(cpu_percent=42.0, gpu_util_percent=87.0, gpu_memory_mb=4096.0), 30, 30, 30, None)
    assert "GPU 87% 4.0 GB" in hud.cells["load"].text()


def test_a_source_problem_is_named_above_older_faults_in_the_hud_and_the_log(qtbot):
    hud, log = Hud(), FaultLog()
    qtbot.addWidget(hud)
    qtbot.addWidget(log)
    m = LiveStatus(latency_ms=120.0, latency_frames=3.6, source="camera:0", source_problem="unplugged",
                   faults_total=1, faults=["12:00:00 camera:0: unplugged"])
    hud.update_from(m, 30, 30, 30, None)
    assert "SOURCE: unplugged (camera:0)" in hud.cells["faults"].toolTip()  # the whole text; the cell may cut it
    assert "LAT 120ms 3.6f" in hud.cells["latency"].text()
    assert log.update_from(m) and log.list.count() == 1 and "camera:0: unplugged" in log.now.text()
    assert not log.update_from(m)  # nothing new: the list is not rebuilt
