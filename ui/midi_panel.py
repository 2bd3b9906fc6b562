"""The MIDI panel: choose the input port, learn a control for any parameter or action, see the mappings.

Mappings are the ones ``dreamdeck midi`` keeps (``midi_mappings.json`` in the data folder):
a control learned here is saved there at once.  Any slider, box or switch in the console
also offers "Learn MIDI" on right-click (see :meth:`MidiPanel.learn`).  Soft takeover
applies as everywhere: a fader moves its parameter only once it has met the value.
"""

from __future__ import annotations

import threading
import time

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (QCheckBox, QComboBox, QGroupBox, QHBoxLayout, QLabel, QListWidget, QPushButton,
                               QVBoxLayout, QWidget)

from engine.params.actions import ACTIONS
from engine.params.registry import Apply, Kind

GREY, RED, GREEN, AMBER = "#8a8a8a", "#ff6b6b", "#7bd88f", "#ffcc66"
OFF_ITEM = "MIDI off"
LEARN_TIMEOUT_S = 30.0  # an armed learn gives up, as `dreamdeck midi learn` does: a stray right-click never remaps later


class MidiPanel(QGroupBox):
    ports_found = Signal(object, str)  # (port names, problem): from the scanning thread to the window's thread

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
        rescan.clicked.connect(lambda: self.rescan())
        row.addWidget(rescan)
        col.addLayout(row)
        self.virtual_box = QCheckBox("DreamDeck's own port (for other software to connect to)")
        self.virtual_box.toggled.connect(lambda _: self.use_selected())
        col.addWidget(self.virtual_box)
        learn = QHBoxLayout()
        self.target_box = QComboBox()
        self.target_box.setToolTip("what the next control you move will drive: a parameter, an action, or a pad that "
                                   "recalls one preset")
        learn.addWidget(self.target_box, 1)
        self.learn_button = QPushButton("Learn")
        self.learn_button.setToolTip("then move a control on the controller")
        self.learn_button.clicked.connect(lambda: self.learn(*self._target()))
        learn.addWidget(self.learn_button)
        self.forget_button = QPushButton("Forget")
        self.forget_button.setToolTip("remove every mapping of this parameter or action")
        self.forget_button.clicked.connect(lambda: self.forget(*self._target()))
        learn.addWidget(self.forget_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip(f"stop waiting for a control (a learn also gives up after {LEARN_TIMEOUT_S:.0f} s)")
        self.cancel_button.clicked.connect(self.cancel_learn)
        learn.addWidget(self.cancel_button)
        col.addLayout(learn)
        self.status = QLabel()
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        self.list = QListWidget()
        self.list.setMaximumHeight(160)
        col.addWidget(self.list)
        self._shown: tuple = ()
        self.message = ""
        self._learn_started: float | None = None
        self._scanning: threading.Thread | None = None
        self.ports_found.connect(self._fill_ports)
        self.rescan()
        self.refresh()

    # -- port ----------------------------------------------------------------------------
    def fill_targets(self) -> None:
        """Parameters a control can drive, actions a pad can run (no argument), and one recall per preset."""
        keep = self.target_box.currentData()
        self.target_box.clear()
        for name, p in self.session.store.params.items():
            if p.kind is not Kind.STR and p.apply is not Apply.RELOAD:  # what a fader can move mid-show
                self.target_box.addItem(name, ("param", name, None))
        for a in ACTIONS:
            if a.argument is None and not a.query:  # what a pad can run as it is
                self.target_box.addItem(f"action: {a.name}", ("action", a.name, None))
        try:
            names = self.session.show.preset_names()
        except Exception:  # an unreadable presets folder: the other targets still work
            names = []
        for name in names:
            self.target_box.addItem(f"recall preset: {name}", ("action", "preset_recall", name))
        i = self.target_box.findData(keep)
        self.target_box.setCurrentIndex(max(i, 0))

    def rescan(self, wait: bool = False) -> None:
        """Look for MIDI ports on a thread of its own (a MIDI system that does not answer never freezes the
        window); the box fills when the answer comes. ``wait``: until then (tests, the Rescan button's caller)."""
        self.fill_targets()
        if self._scanning is None or not self._scanning.is_alive():
            self._scanning = threading.Thread(target=self._scan, name="dd-midi-ports", daemon=True)
            self._scanning.start()
        if wait:
            self._scanning.join(10.0)
            from PySide6.QtCore import QCoreApplication

            QCoreApplication.processEvents()  # deliver the answer now

    def _scan(self) -> None:
        try:
            ports, problem = self.midi.ports(), ""
        except Exception as e:  # no MIDI library or system: said once, the panel stays usable
            ports, problem = [], str(e)
        try:
            self.ports_found.emit(ports, problem)
        except RuntimeError:  # the window went away meanwhile
            pass

    def _fill_ports(self, ports: list, problem: str) -> None:
        if problem:
            self.message = problem
        current = self.midi.state().port
        self.port_box.blockSignals(True)
        self.port_box.clear()
        self.port_box.addItem(OFF_ITEM, None)
        for name in ports:
            self.port_box.addItem(name, name)
        i = self.port_box.findData(current)
        self.port_box.setCurrentIndex(max(i, 0))
        self.port_box.blockSignals(False)
        virtual = current is not None and i < 0  # DreamDeck's own port (started with --midi-virtual)
        self.virtual_box.blockSignals(True)
        self.virtual_box.setChecked(virtual)
        self.virtual_box.blockSignals(False)

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
    def _target(self) -> tuple[str, bool, object]:
        kind, name, arg = self.target_box.currentData()
        return name, kind == "action", arg

    def learn(self, target: str, action: bool = False, arg: object = None) -> bool:
        """Bind the next control moved on the open port to parameter ``target`` (or that ``action``, with ``arg``)."""
        try:
            self.midi.learn(target, action=action, arg=arg)
            self.message = f"move a control to bind it to {target}" + (f" {arg}" if arg is not None else "") + "…"
            self._learn_started = time.monotonic()
            ok = True
        except Exception as e:
            self.message, ok = str(e), False
        self.refresh()
        return ok

    def cancel_learn(self) -> None:
        self.midi.cancel_learn()
        self._learn_started = None
        self.message = "learn cancelled"
        self.refresh()

    def forget(self, target: str, action: bool = False, arg: object = None) -> None:
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
        if s.learning and self._learn_started is not None and time.monotonic() - self._learn_started > LEARN_TIMEOUT_S:
            self.midi.cancel_learn()
            self._learn_started = None
            self.message = f"no control moved within {LEARN_TIMEOUT_S:.0f} s: learn cancelled"
            s = self.midi.state()
        mappings = tuple(self.midi.mappings())
        if s.port is None:
            text, colour, hud = (s.error or self.message or "MIDI off: choose a port"), (RED if s.error else GREY), "MIDI off"
        elif s.learning:
            text, colour, hud = f"{s.port}: move a control to bind it to <b>{s.learning}</b>…", AMBER, "MIDI learn"
        else:
            self._learn_started = None
            learned = f" · learned {s.learned}" if s.learned else ""
            if self.midi.mapping_file:  # --midi-map: used as is, never saved over
                learned += f" · learned mappings are not saved ({self.midi.mapping_file} is used as is)"
            note = self.message if self.message and not self.message.startswith(("midi:", "move a control")) else ""
            text = (f"{s.port}: {s.mappings} mappings{learned}" + (f"<br>{s.error}" if s.error else "")
                    + (f"<br>{note}" if note else ""))
            colour, hud = (AMBER if s.error else GREEN), f"MIDI {s.mappings}"
        shown = (text, colour, mappings)
        if shown != self._shown:  # labels and the list change only when the state does
            self._shown = shown
            self.status.setText(f"<span style='color:{colour}'>{text}</span>")
            self.list.clear()
            self.list.addItems(list(mappings))
        return hud, colour
