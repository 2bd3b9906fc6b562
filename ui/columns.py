"""The console's columns: the output preview, the program's controls, and NEXT (the cue) beside them where
space allows (a tab otherwise).  Their widths are a function of the window's width and the share the operator
last dragged to, so a round trip through window sizes puts every control back where it was."""

from __future__ import annotations

from PySide6.QtWidgets import QSplitter, QTabWidget, QVBoxLayout, QWidget

SIDE_BY_SIDE_MIN = 1700  # px of window: below this the cue is a tab (1280 and 1600 wide screens), above a column


class Columns:
    def __init__(self, tabs: QTabWidget, splitter: QSplitter, next_panel: QWidget, controls_min: int,
                 title: str = "Next"):
        self.tabs, self.splitter, self.panel, self.controls_min = tabs, splitter, next_panel, controls_min
        self.page = QWidget()  # the Next tab's page: holds the panel while the window is narrow
        QVBoxLayout(self.page).setContentsMargins(0, 0, 0, 0)
        self.page.layout().addWidget(next_panel)
        self.index = tabs.addTab(self.page, title)
        self.beside = False
        self.share = 0.4  # the controls' share of what the preview and they take (the operator's last drag)
        splitter.splitterMoved.connect(self._dragged)

    def _dragged(self, *_) -> None:
        sizes = self.splitter.sizes()
        if sizes[0] + sizes[1] > 0:
            self.share = sizes[1] / (sizes[0] + sizes[1])

    def next_width(self) -> int:
        inner = getattr(self.panel, "widget", lambda: None)() or self.panel  # the panel inside its scroll area
        return inner.minimumSizeHint().width() + 24

    def fit(self, window_width: int) -> None:
        """Place NEXT for this width, then size the columns from the width and the share alone."""
        wide = window_width >= SIDE_BY_SIDE_MIN
        if wide != self.beside:
            self.beside = wide
            if wide:
                self.splitter.addWidget(self.panel)  # takes it out of the tab page
            else:
                self.page.layout().addWidget(self.panel)
            self.tabs.setTabVisible(self.index, not wide)
            self.panel.show()
        total = sum(self.splitter.sizes())
        if total <= 0:
            return
        cue = self.next_width() if self.beside else 0
        controls = max(self.controls_min, round((total - cue) * self.share))
        self.splitter.setSizes([max(total - cue - controls, 0), controls, *([cue] if self.beside else [])])
