"""Presets: the grid of pictures (ui/preset_grid.py) or the list, and a button for each preset and cue action of
the action table (recall, next, previous, save, rename, delete, list; cue, from program, take), each run through
the session as OSC and MIDI run them.  A tile clicked in the grid is also the list's selection, which the
buttons act on."""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (QFormLayout, QGroupBox, QGridLayout, QLabel, QLineEdit, QListWidget, QPushButton,
                               QStackedWidget, QVBoxLayout, QWidget)

from engine.params.actions import ACTIONS

from .binding import GUI, make_control
from .preset_grid import PresetGrid

PER_ROW = 4
GROUPS = ("presets", "cue")  # the table's groups this panel has buttons for
NO_ARGUMENT = object()  # the user gave no argument (no preset selected, a dialog cancelled): nothing runs


class PresetsPanel(QGroupBox):
    def __init__(self, session, bridge, parent: QWidget | None = None):
        super().__init__("Presets", parent)
        self.session = session
        col = QVBoxLayout(self)
        self.view_button = QPushButton("List view")  # not checkable: the console paints checked buttons red
        self.view_button.setObjectName("presets:list_view")
        self.view_button.setToolTip("Show the presets as a list, or as a grid of pictures")
        col.addWidget(self.view_button)
        self.grid = PresetGrid(session, bridge)
        self.grid.message.connect(self.message_text)
        self.grid.chosen.connect(self._select)
        self.list = QListWidget()
        self.list.itemDoubleClicked.connect(lambda _: self.run("preset_recall"))
        self.views = QStackedWidget()
        self.views.addWidget(self.grid)
        self.views.addWidget(self.list)
        self.view_button.clicked.connect(self.switch_view)
        col.addWidget(self.views, 1)
        grid = QGridLayout()
        self.buttons: dict[str, QPushButton] = {}
        for i, a in enumerate(x for x in ACTIONS if x.group in GROUPS):
            b = QPushButton(a.label)
            b.setObjectName(f"action:{a.name}")
            b.setToolTip(a.description + (f"  (key {a.key})" if a.key else "") + f"\nOSC {a.osc_address}")
            b.clicked.connect(lambda _=False, n=a.name: self.run(n))
            grid.addWidget(b, i // PER_ROW, i % PER_ROW)
            self.buttons[a.name] = b
        col.addLayout(grid)
        # the name Save and Rename take, typed here: no dialog ever blocks the show (or its safety keys)
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("presets:name")
        self.name_edit.setPlaceholderText("name for Save / new name for Rename (Enter saves)")
        self.name_edit.returnPressed.connect(lambda: self.run("preset_save"))
        col.addWidget(self.name_edit)
        form = QFormLayout()
        form.addRow("crossfade (s)", make_control(bridge, "preset_fade_time"))
        form.addRow("quantise", make_control(bridge, "preset_quantize"))
        col.addLayout(form)
        self.message = QLabel()
        self.message.setWordWrap(True)
        col.addWidget(self.message)
        self._followed: str | None = None
        self.reload()

    def reload(self) -> None:
        self.run("preset_list")

    def switch_view(self) -> None:
        """Grid <-> list (both show the same presets and share the selection)."""
        to_list = self.views.currentWidget() is self.grid
        self.views.setCurrentWidget(self.list if to_list else self.grid)
        self.view_button.setText("Grid view" if to_list else "List view")

    def message_text(self, text: str) -> None:
        if text != self.message.text():
            self.message.setText(text)

    def follow(self, name: str | None) -> None:
        """Highlight the preset recalled last, by any surface (next/previous step from it), on change only;
        the grid follows the list, its pictures and the cued look (the window's HUD timer calls this)."""
        self.grid.refresh()
        if name is None or name == self._followed:
            return
        self._followed = name
        self._select(name)

    def _select(self, name: str) -> None:
        found = self.list.findItems(name, Qt_exact())
        if found:
            self.list.setCurrentItem(found[0])

    def _selected(self) -> str | None:
        item = self.list.currentItem()
        return item.text() if item else None

    def _argument(self, name: str) -> Any:
        """What the action needs from the window: the selected preset, or a name asked for."""
        selected = self._selected()
        if name in ("preset_recall", "preset_delete", "cue_preset"):
            return selected if selected else NO_ARGUMENT
        typed = self.name_edit.text().strip()
        if name == "preset_save":
            if not typed:
                self.message_text("type a name in the field above Save first")
                self.name_edit.setFocus()
                return NO_ARGUMENT
            return typed
        if name == "preset_rename":
            if not selected or not typed or typed == selected:
                self.message_text("select a preset, type its new name in the field, then Rename")
                return NO_ARGUMENT
            return selected, typed
        return None

    def run(self, name: str) -> bool:
        """Run preset action ``name`` with what the window holds; the message line says what happened."""
        arg = self._argument(name)
        if arg is NO_ARGUMENT:
            return False
        try:
            result = self.session.trigger(name, arg, source=GUI)
        except Exception as e:  # the session's one line (unknown preset, a name refused, ...)
            self.message.setText(f"<span style='color:#ff6b6b'>{e}</span>")
            return False
        if name == "preset_list":
            current = self._selected()
            self.list.clear()
            self.list.addItems(list(result or []))
            found = self.list.findItems(current, Qt_exact()) if current else []
            if found:
                self.list.setCurrentItem(found[0])
            self.grid.refresh()
            return True
        done = {"preset_recall": f"recalled {arg}", "preset_save": f"saved {arg}", "preset_delete": f"deleted {arg}",
                "preset_rename": f"renamed {arg[0]} to {arg[1]}" if isinstance(arg, tuple) else "",
                "cue_preset": f"cued {arg}: TAKE sends it to the output", "cue_reset": "the cue is the output's look again",
                "take": "took the cue to the output"}
        self.message.setText(done.get(name) or (f"recalled {getattr(result, 'name', result)}" if result else name))
        if name in ("preset_save", "preset_rename", "preset_delete"):
            self.reload()
        return True


def Qt_exact():
    from PySide6.QtCore import Qt

    return Qt.MatchFlag.MatchExactly
