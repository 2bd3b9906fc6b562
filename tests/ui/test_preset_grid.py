"""Presets as a grid: pictures saved with the presets, one click recalls, a right-click cues, the live and
cued looks framed, pictures read again only when their file changes; the presets panel holds the grid."""

import numpy as np
import pytest
from PySide6.QtCore import QPoint
from PySide6.QtWidgets import QPushButton, QToolButton, QWidget

from ui.binding import ParamBridge
from ui.preset_grid import ACTIVE, CUED, THUMB, PresetGrid
from ui.presets_panel import PresetsPanel


@pytest.fixture
def session(make_session):
    s = make_session()
    s.store.set("preset_fade_time", 0.0)
    frame = [np.zeros((360, 640, 3), np.uint8)]
    s.show.capture = lambda: frame[0]
    s.frame = frame
    for name, strength, red in (("one", 0.1, 255), ("two", 0.2, 0)):
        frame[0] = np.zeros((360, 640, 3), np.uint8)
        frame[0][:, :, 0] = red
        s.store.set("strength", strength)
        s.show.save_preset(name)
    s.store.set("strength", 0.5)
    return s


@pytest.fixture
def holder(qtbot, session):
    """Owns the window's bridge, as the window does: deleted on the GUI thread, never by the garbage collector."""
    w = QWidget()
    qtbot.addWidget(w)
    w.bridge = ParamBridge(session.store, parent=w)
    yield w
    w.bridge.close()


@pytest.fixture
def grid(holder, session):
    g = PresetGrid(session, holder.bridge, parent=holder)
    g.resize(800, 400)
    holder.show()
    return g


def _red(tile: QToolButton) -> int:
    return tile.icon().pixmap(THUMB).toImage().pixelColor(80, 45).red()


def test_tiles_show_the_pictures_saved_with_the_presets(grid, session):
    names = session.show.preset_names()
    assert [n for n in grid.tiles] == names and {"one", "two", "blackout-safe"} <= set(names)
    one, two = grid.findChild(QToolButton, "preset:one"), grid.findChild(QToolButton, "preset:two")
    assert _red(one) == 255 and _red(two) == 0
    assert not grid.refresh()  # nothing changed: nothing touched


def test_a_click_recalls_a_right_click_cues_and_both_are_framed(grid, session, qtbot):
    store, show = session.store, session.show
    grid.findChild(QToolButton, "preset:one").click()
    qtbot.waitUntil(lambda: store.get("strength") == 0.1, timeout=5000)
    assert show.last_preset == "one" and ACTIVE in grid.tiles["one"].styleSheet()
    grid.tiles["two"].customContextMenuRequested.emit(QPoint(2, 2))
    assert show.cue.store.get("strength") == 0.2 and store.get("strength") == 0.1  # cued, off-air
    assert CUED in grid.tiles["two"].styleSheet() and ACTIVE in grid.tiles["one"].styleSheet()
    session.trigger("take")
    qtbot.waitUntil(lambda: store.get("strength") == 0.2, timeout=5000)
    grid.refresh()
    assert ACTIVE in grid.tiles["two"].styleSheet() and CUED not in grid.tiles["one"].styleSheet()


def test_a_picture_is_read_again_only_when_its_file_changes(grid, session):
    loads = []
    real = grid._picture
    grid._picture = lambda name: (loads.append(name), real(name))[1]
    assert not grid.refresh() and loads == []
    session.frame[0] = np.full((360, 640, 3), 255, np.uint8)
    session.show.save_preset("two")  # saved over: a new picture
    assert grid.refresh()
    assert _red(grid.tiles["two"]) == 255 and _red(grid.tiles["one"]) == 255
    session.trigger("preset_rename", ("two", "deux"))
    assert grid.refresh() and "deux" in grid.tiles and "two" not in grid.tiles
    assert _red(grid.tiles["deux"]) == 255
    session.trigger("preset_delete", "deux")
    assert grid.refresh() and "deux" not in grid.tiles


def test_the_presets_panel_holds_the_grid_and_the_cue_buttons(holder, session):
    panel = PresetsPanel(session, holder.bridge, parent=holder)
    holder.show()
    panel.grid.tiles["two"].click()
    assert panel.list.currentItem().text() == "two"  # the tile is the selection the buttons act on
    assert "recalled two" in panel.message.text()
    panel.grid.tiles["one"].customContextMenuRequested.emit(QPoint(1, 1))
    assert panel.list.currentItem().text() == "one"
    for name in ("cue_preset", "cue_reset", "take"):
        assert panel.findChild(QPushButton, f"action:{name}") is not None
    panel.findChild(QPushButton, "action:cue_reset").click()
    assert session.show.cue.store.get("strength") == session.store.get("strength")
    panel.findChild(QPushButton, "presets:list_view").click()
    assert panel.views.currentWidget() is panel.list
