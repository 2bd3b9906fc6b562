"""Presets as a grid of pictures: one tile per preset, its thumbnail above its name.

A click recalls the preset through the session (``preset_recall``, with the crossfade and quantise
set); a right-click cues it (``cue_preset``: the next look, taken later).  The look on the output
(``session.show.last_preset``) has an orange frame, the cued one (``session.show.cue.preset``) a blue
one.  Pictures come from ``session.show.thumbnail_path(name)``; each is read once and read again only
when its file changes (checked when ``session.show.thumbnails.version`` moves or the list changes).

``refresh()`` follows the show (the presets panel calls it from the window's HUD timer); it touches
widgets only when something changed.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QGridLayout, QScrollArea, QSizePolicy, QToolButton, QWidget

from .binding import GUI

THUMB = QSize(160, 90)
TILE = QSize(176, 126)
ACTIVE, CUED = "#ff9d2e", "#4aa3ff"
TILE_STYLE = ("QToolButton {{ background: #26262d; border: 3px solid {border}; border-radius: 4px; padding: 2px; }}"
              " QToolButton:hover {{ background: #34343e; }}")
STYLES = {None: TILE_STYLE.format(border="#3a3a44"), "active": TILE_STYLE.format(border=ACTIVE),
          "cued": TILE_STYLE.format(border=CUED)}


class PresetGrid(QScrollArea):
    message = Signal(str)  # what a click did, or the session's refusal
    chosen = Signal(str)  # a tile was clicked or right-clicked: the preset it stands for

    def __init__(self, session, bridge=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.setWidgetResizable(True)
        self.setMinimumHeight(TILE.height() + 12)
        self.inner = QWidget()
        self.layout_ = QGridLayout(self.inner)
        self.layout_.setSpacing(6)
        self.layout_.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.setWidget(self.inner)
        self.tiles: dict[str, QToolButton] = {}
        self._names: tuple[str, ...] | None = None
        self._columns = 0
        self._version: int | None = None
        self._files: dict[str, tuple | None] = {}  # name -> (path, mtime_ns, size) of the picture shown
        self._marks: dict[str, str | None] = {}  # name -> "active" | "cued" | None, as styled
        self._blank = QPixmap(THUMB)
        self._blank.fill(QColor("#15151a"))
        self.refresh()

    # -- following the show ---------------------------------------------------------
    def refresh(self, force: bool = False) -> bool:
        """Follow the preset list, the pictures and the active / cued look; True when anything changed."""
        show = self.session.show
        try:
            names = tuple(show.preset_names())
        except Exception as e:  # an unreadable presets folder: keep what is shown, say why
            self.message.emit(str(e))
            return False
        changed = False
        if force or names != self._names:
            self._rebuild(names)
            changed = True
        thumbnails = getattr(show, "thumbnails", None)  # a show without pictures shows blank tiles
        version = thumbnails.version if thumbnails is not None else 0
        if changed or version != self._version:
            self._version = version
            for name in names:
                changed |= self._picture(name)
        cue = getattr(show, "cue", None)
        active, cued = show.last_preset, cue.preset if cue is not None else None
        for name in names:
            mark = "active" if name == active else "cued" if name == cued else None
            if self._marks.get(name, "") != mark:
                self._marks[name] = mark
                self.tiles[name].setStyleSheet(STYLES[mark])
                changed = True
        return changed

    def _rebuild(self, names: tuple[str, ...]) -> None:
        for name in [n for n in self.tiles if n not in names]:
            tile = self.tiles.pop(name)
            self.layout_.removeWidget(tile)
            tile.deleteLater()
            self._files.pop(name, None)
            self._marks.pop(name, None)
        for name in names:
            if name not in self.tiles:
                self.tiles[name] = self._tile(name)
        self._names = names
        self._columns = 0
        self._place()

    def _tile(self, name: str) -> QToolButton:
        b = QToolButton(self.inner)
        b.setObjectName(f"preset:{name}")
        b.setText(_elided(b, name))
        b.setToolTip(f"{name}\nclick: recall (with the crossfade and quantise set)\nright-click: cue it (TAKE sends it)")
        b.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextUnderIcon)
        b.setIconSize(THUMB)
        b.setFixedSize(TILE)
        b.setIcon(QIcon(self._blank))
        b.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        b.clicked.connect(lambda _=False, n=name: self.recall(n))
        b.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        b.customContextMenuRequested.connect(lambda _pos, n=name: self.cue(n))
        self._marks[name] = ""  # not styled yet
        self._files[name] = None
        return b

    def _picture(self, name: str) -> bool:
        """Show ``name``'s thumbnail, read again only when its file changed; True when it did."""
        find = getattr(self.session.show, "thumbnail_path", None)
        path = find(name) if find is not None else None
        key = None
        if path is not None:
            try:
                st = os.stat(path)
                key = (str(path), st.st_mtime_ns, st.st_size)
            except OSError:
                key = None
        if key == self._files.get(name):
            return False
        self._files[name] = key
        pixmap = QPixmap(key[0]) if key is not None else QPixmap()
        self.tiles[name].setIcon(QIcon(pixmap if not pixmap.isNull() else self._blank))
        return True

    def _place(self) -> None:
        m, gap = self.layout_.contentsMargins(), self.layout_.spacing()
        room = self.viewport().width() - m.left() - m.right() + gap  # n tiles take n widths and n - 1 gaps
        columns = max(1, room // (TILE.width() + gap))
        if columns == self._columns:
            return
        self._columns = columns
        for name in self.tiles:
            self.layout_.removeWidget(self.tiles[name])
        for i, name in enumerate(self._names or ()):
            self.layout_.addWidget(self.tiles[name], i // columns, i % columns)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._place()

    # -- what a tile does -------------------------------------------------------------
    def recall(self, name: str) -> bool:
        return self._run("preset_recall", name, f"recalled {name}")

    def cue(self, name: str) -> bool:
        return self._run("cue_preset", name, f"cued {name}: TAKE sends it to the output")

    def _run(self, action: str, name: str, done: str) -> bool:
        self.chosen.emit(name)
        try:
            self.session.trigger(action, name, source=GUI)
        except Exception as e:  # the session's one line (a preset deleted meanwhile, a broken file)
            self.message.emit(f"<span style='color:#ff6b6b'>{e}</span>")
            return False
        self.message.emit(done)
        self.refresh()
        return True


def _elided(w: QWidget, name: str) -> str:
    return w.fontMetrics().elidedText(name, Qt.TextElideMode.ElideMiddle, TILE.width() - 12)
