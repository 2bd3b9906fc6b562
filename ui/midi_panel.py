"""The MIDI panel: choose the input port, learn a control for any parameter or action, see the mappings.

Mappings are the ones ``dreamdeck midi`` keeps (``midi_mappings.json`` in the data folder):
a control learned here is saved there at once.  Any slider, box or switch in the console
also offers "Learn MIDI" on right-click (see :meth:`MidiPanel.learn`).  Soft takeover
applies as everywhere: a fader moves its parameter only once it has met the value.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QListWidget, QPushButton,
                               QVBoxLayout, QWidget)

from engine.params.actions import ACTIONS
from engine.params.registry import Kind

GREY, RED, GREEN, AMBER = "#8a8a8a", "#ff6b6b", "#7bd88f", "#ffcc66"
OFF_ITEM = "MIDI off"


class MidiPanel(QGroupBox):
    def __init__(self, session, parent: QWidget | None = None):
        super().__init__("MIDI", parent)
        self.session = session
        self.midi = session.midi
        col = QVBoxLayout(self)
        row = QHBoxLayout()
        self.port_box = QComboBox()
        self.port_box.setToolTip("the controller (MIDI input port) that drives the show")
        self.port_box.activated.connect(lambda _: self.use_selected())
        row.addWidget(self.port_box, 1)
        rescan = QPushButton("Rescan")
        rescan.setToolTip("look for MIDI ports again (a controller plugged in after start)")
        rescan.clicked.connect(self.rescan)
        row.addWidget(rescan)
        col.addLayout(row)
        self.virtual_box = QCheckBox("DreamDeck's own port (for other software to connect to)")
        self.virtual_box.toggled.connect(lambda _: self.use_selected())
        col.addWidget(self.virtual_box)
        learn = QHBoxLayout()
        self.target_box = QComboBox()
        self.target_box.setToolTip("what the next control you move will drive")
        for name, p in session.store.params.items():
            if p.kind is not Kind.STR:
                self.target_box.addItem(name, ("param", name))
        for a in ACTIONS:
            if not a.query:  # a question (preset_list) has no answer to send back to a controller
                self.target_box.addItem(f"action: {a.name}", ("action", a.name))
        learn.addWidget(self.target_box, 1)
        self.learn_button = QPushButton("Learn")
        self.learn_button.setToolTip("then move a control on the controller")
        self.learn_button.clicked.connect(lambda: self.learn(*self._target()))
        learn.addWidget(self.learn_button)
        self.forget_button = QPushButton("Forget")
        self.forget_button.setToolTip("remove every mapping of this parameter or action")
        self.forget_button.clicked.connect(lambda: self.forget(*self._target()))
        learn.addWidget(self.forget_button)
        col.addLayout(learn)
        self.status = QLabel()
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        self.list = QListWidget()
        self.list.setMaximumHeight(160)
        col.addWidget(self.list)
        self._shown: tuple = ()
        self.message = ""
        self.rescan()
        self.refresh()

    # -- port ----------------------------------------------------------------------------
    def rescan(self) -> None:
        current = self.midi.state().port
        self.port_box.blockSignals(True)
        self.port_box.clear()
        self.port_box.addItem(OFF_ITEM, None)
        try:
            ports = self.midi.ports()
        except Exception as e:  # no MIDI library or system: said once, the panel stays usable
            ports = []
            self.message = str(e)
        for name in ports:
            self.port_box.addItem(name, name)
        i = self.port_box.findData(current)
        self.port_box.setCurrentIndex(max(i, 0))
        self.port_box.blockSignals(False)

    def use_selected(self) -> None:
        self.use(self.port_box.currentData(), self.virtual_box.isChecked())

    def use(self, port: str | None, virtual: bool = False) -> bool:
        """Open ``port`` (None and not ``virtual``: MIDI off); the panel says why when it cannot."""
        if port is None and not virtual:
            self.midi.close()
            self.message = ""
            self.refresh()
            return True
        try:
            self.message = self.midi.open(port, virtual=virtual)
            ok = True
        except Exception as e:
            self.message, ok = str(e), False
        self.refresh()
        return ok

    # -- learn -----------------------------------------------------------------------------
    def _target(self) -> tuple[str, bool]:
        kind, name = self.target_box.currentData()
        return name, kind == "action"

    def learn(self, target: str, action: bool = False) -> bool:
        """Bind the next control moved on the open port to parameter ``target`` (or that ``action``)."""
        try:
            self.midi.learn(target, action=action)
            self.message = f"move a control to bind it to {target}…"
            ok = True
        except Exception as e:
            self.message, ok = str(e), False
        self.refresh()
        return ok

    def forget(self, target: str, action: bool = False) -> None:
        try:
            n = self.midi.forget_action(target) if action else self.midi.forget(target)
            self.message = f"removed {n} mapping(s) of {target}"
        except Exception as e:
            self.message = str(e)
        self.refresh()

    # -- status ----------------------------------------------------------------------------
    def refresh(self) -> tuple[str, str]:
        """Update the status and the mapping list (on change only); returns (short HUD text, colour)."""
        s = self.midi.state()
        mappings = tuple(self.midi.mappings())
        if s.port is None:
            text, colour, hud = (s.error or self.message or "MIDI off: choose a port"), (RED if s.error else GREY), "MIDI off"
        elif s.learning:
            text, colour, hud = f"{s.port}: move a control to bind it to <b>{s.learning}</b>…", AMBER, "MIDI learn"
        else:
            learned = f" · learned {s.learned}" if s.learned else ""
            text = f"{s.port}: {s.mappings} mappings{learned}" + (f"<br>{s.error}" if s.error else "")
            colour, hud = (AMBER if s.error else GREEN), f"MIDI {s.mappings}"
        shown = (text, colour, mappings)
        if shown != self._shown:  # labels and the list change only when the state does
            self._shown = shown
            self.status.setText(f"<span style='color:{colour}'>{text}</span>")
            self.list.clear()
            self.list.addItems(list(mappings))
        return hud, colour
