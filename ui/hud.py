"""The status HUD: rates against the target, latency, drops, skips, load, OSC traffic."""

from __future__ import annotations

import time
from html import escape

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QSizePolicy, QWidget

from engine.live.status import LiveStatus

GREEN, YELLOW, RED, GREY = "#3ad36a", "#f0c419", "#ff4b4b", "#9a9aa5"


def count(n: int) -> str:
    """A night's counter in a few characters: 980, 12.3k, 4.1M."""
    return str(n) if n < 1000 else f"{n / 1000:.1f}k" if n < 1_000_000 else f"{n / 1_000_000:.1f}M"


def rate_colour(fps: float, target: float) -> str:
    """≥95 % of the target green, ≥80 % yellow, else red."""
    if target <= 0:
        return GREY
    r = fps / target
    return GREEN if r >= 0.95 else YELLOW if r >= 0.80 else RED


# where each cell sits: (row, column, columns spanned); two rows of six equal columns
CELLS = {
    "input": (0, 0, 1), "generate": (0, 1, 1), "output": (0, 2, 1), "latency": (0, 3, 1), "drops": (0, 4, 1),
    "skip": (0, 5, 1), "load": (1, 0, 1), "midi": (1, 1, 1), "audio": (1, 2, 1), "osc": (1, 3, 1), "faults": (1, 4, 2),
}


COLUMN_SHARES = (2, 2, 2, 3, 3, 2)


class Hud(QWidget):
    """Two rows of fixed cells: a cell never widens the window (its text is cut at the cell's edge, the whole text
    is its tooltip) and nothing moves when numbers grow."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        grid = QGridLayout(self)
        grid.setContentsMargins(6, 2, 6, 2)
        grid.setHorizontalSpacing(8)
        grid.setVerticalSpacing(0)
        self.cells: dict[str, QLabel] = {}
        for key, (row, col, span) in CELLS.items():
            lab = QLabel("")
            lab.setStyleSheet("font-family: monospace; font-size: 11px; padding: 0 1px;")
            lab.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            lab.setMinimumWidth(0)
            grid.addWidget(lab, row, col, 1, span)
            self.cells[key] = lab
        for col, share in enumerate(COLUMN_SHARES):  # wider where the numbers are longer
            grid.setColumnStretch(col, share)
        self._osc_prev: tuple[float, int] | None = None
        self._shown: dict[str, str] = {}
        self._wanted: dict[str, tuple[str, str]] = {}  # the whole text and colour of each cell

    def set_audio(self, text: str, colour: str) -> None:
        """The audio engine's cell: renderer and xruns (red when the output glitched)."""
        self._set("audio", text, colour)

    def set_midi(self, text: str, colour: str) -> None:
        """The MIDI input's cell: off, learning, or how many mappings drive the show."""
        self._set("midi", text, colour)

    def _set(self, key: str, text: str, colour: str = "#e6e6e6") -> None:
        self._wanted[key] = (text, colour)
        cell = self.cells[key]
        shown = cell.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, max(0, cell.width() - 4))
        html = f"<span style='color:{colour}'>{escape(shown)}</span>"
        if self._shown.get(key) != html:  # a label re-laid out four times a second for nothing costs a repaint each
            self._shown[key] = html
            cell.setText(html)
            cell.setToolTip(text)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        for key, (text, colour) in list(self._wanted.items()):  # cut anew ("…") to the cells' new widths
            self._set(key, text, colour)

    def update_from(self, m: LiveStatus, source_fps: float, model_fps: float, out_target: float, osc_stats: dict | None,
                    osc_last: str = "") -> None:
        problem = m.source_problem
        self._set("input", f"IN {m.input_fps:4.1f}/{source_fps:.0f}", RED if problem else rate_colour(m.input_fps, source_fps))
        self._set("generate", f"GEN {m.generate_fps:4.1f}/{model_fps:.0f}", rate_colour(m.generate_fps, model_fps))
        self._set("output", f"OUT {m.output_fps:4.1f}/{out_target:.0f}", rate_colour(m.output_fps, out_target))
        if m.latency_ms is None:
            self._set("latency", "LAT –", GREY)
        else:
            self._set("latency", f"LAT {m.latency_ms:.0f}ms {m.latency_frames:.1f}f")
        self._set("drops", f"DROP {count(m.dropped_input)} REP {count(m.repeated_output)}")
        self._set("skip", f"SKIP {m.skip_rate * 100:.0f}%")
        load = f"CPU {m.cpu_percent:.0f}%"
        if m.gpu_util_percent is not None:
            load += f"  GPU {m.gpu_util_percent:.0f}% {(m.gpu_memory_mb or 0) / 1024:.1f} GB"
        self._set("load", load)
        if osc_stats is None:
            self._set("osc", "OSC off", GREY)
        else:
            t, n = time.monotonic(), int(osc_stats.get("messages", 0))
            rate = 0.0
            if self._osc_prev is not None and t > self._osc_prev[0]:
                rate = (n - self._osc_prev[1]) / (t - self._osc_prev[0])
            self._osc_prev = (t, n)
            # the address first: whether a tablet is reaching the show is what a glance wants; a narrow cell cuts the rate
            self._set("osc", "OSC " + (f"{osc_last[-40:]} " if osc_last else "") + f"{rate:.0f} msg/s")
        faults = m.faults
        if problem:  # the source is down now: named at once, above older faults
            self._set("faults", f"SOURCE: {problem} ({m.source})", RED)  # what is wrong first: a long path is cut
        elif m.watchdog:
            self._set("faults", "WATCHDOG covering a stall", RED)
        elif faults:
            self._set("faults", faults[-1], YELLOW)
        else:
            self._set("faults", "")
