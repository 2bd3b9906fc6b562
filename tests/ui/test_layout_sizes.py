"""A layout that holds still: at 1280x720, 1600x1000 and 1920x1080 nothing widens the window, nothing is cut,
and after a round trip through the sizes every control is back where it was."""

import time

from PySide6.QtWidgets import QAbstractButton, QApplication, QScrollArea, QWidget

SIZES = [(1280, 720), (1600, 1000), (1920, 1080)]


def _settle(qtbot, seconds: float = 0.4) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:  # frames, the HUD and the status line keep changing meanwhile
        QApplication.processEvents()
        qtbot.wait(20)


def _cut_buttons(window) -> list[str]:
    out = []
    for b in window.findChildren(QAbstractButton):
        if b.isVisible() and b.text():
            need = max(b.fontMetrics().horizontalAdvance(line) for line in b.text().split("\n"))
            if need + 8 > b.contentsRect().width():
                out.append(f"{b.text()!r}: {b.contentsRect().width()} px for {need}")
    return out


def _places(window) -> dict[str, tuple]:
    named = [w for w in window.findChildren(QWidget) if w.objectName().startswith(("action:", "param:")) and w.isVisible()]
    return {w.objectName(): (w.mapTo(window, w.rect().topLeft()).toTuple(), w.size().toTuple()) for w in named}


def test_the_window_fits_and_holds_still_at_three_sizes(window, qtbot):
    assert window.minimumSizeHint().width() <= SIZES[0][0] and window.minimumSizeHint().height() <= SIZES[0][1]
    first: dict[tuple, dict] = {}
    for size in SIZES + SIZES[-2::-1]:  # up and back down
        window.resize(*size)
        _settle(qtbot)
        for tab in range(window.tabs.count()):  # every page, as a VJ clicks through them
            if not window.tabs.isTabVisible(tab):  # the Next tab, while NEXT stands beside the controls
                continue
            window.tabs.setCurrentIndex(tab)
            _settle(qtbot, 0.15)
            where = (size, window.tabs.tabText(tab))
            assert window.size().toTuple() == size, f"the window is {window.size().toTuple()} on {where}"
            assert not _cut_buttons(window), (where, _cut_buttons(window))
            scrolled = [a for a in window.findChildren(QScrollArea) if a.isVisible() and a.horizontalScrollBar().isVisible()]
            assert not scrolled, where
        window.tabs.setCurrentIndex(0)
        _settle(qtbot, 0.15)
        assert window.tabs.tabBar().sizeHint().width() <= window.tabs.width(), size  # every tab's name shows
        places = _places(window)
        if size in first:  # geometry returns after the round trip
            assert places == first[size], size
        first[size] = places


def test_long_text_never_widens_the_window(window, qtbot):
    window.resize(*SIZES[0])
    _settle(qtbot)
    before = window.size().toTuple()
    window.osc_monitor.last_address = "/dreamdeck/" + "very/long/osc/address/" * 12
    window.session.pipeline.metrics.fault("a source", "a fault message that goes on " * 20)
    window.hud.cells["drops"].setText("DROP 123456789 REP 987654321")
    _settle(qtbot, 0.6)
    assert window.size().toTuple() == before and window.minimumSizeHint().width() <= SIZES[0][0]


def test_program_and_next_stand_side_by_side_where_there_is_room(window, qtbot):
    for size, beside in (((1920, 1080), True), ((1600, 1000), False), ((1920, 1080), True), ((1280, 720), False)):
        window.resize(*size)
        _settle(qtbot, 0.2)
        assert window.size().toTuple() == size
        panel = window.cue_panel
        assert panel.isVisible() is beside or not beside  # (in a hidden tab when narrow)
        assert window.tabs.isTabVisible(window.columns.index) is not beside, size
        if beside:
            assert panel.isVisible() and window.tabs.isVisible()  # the program's controls and NEXT, both in sight
            assert panel.mapTo(window, panel.rect().topLeft()).x() > window.tabs.mapTo(window, window.tabs.rect().topLeft()).x()
