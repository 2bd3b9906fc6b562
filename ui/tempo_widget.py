"""Tempo in sight: the BPM (editable), TAP, the beats in a bar, and a light that flashes on each beat.

The BPM and beats-per-bar are registry values (bound through the window's ParamBridge); TAP runs the
action table's ``tap`` through the session, as a MIDI pad or an OSC button does.  The beat light reads
the show's beat clock (``session.show.tempo``: ``bpm``, ``origin``, ``clock``), the same clock that
quantises preset recalls, so it flashes where a quantised recall lands.

The light is polled by the widget's own timer (~30 Hz, only while the widget is shown): each tick is a
little arithmetic, and a label is touched only when the beat or the flash changes (about twice a
beat); a night of ticks makes no Qt calls for nothing (the console keeps ``sys.getrefcount(None)``
flat).  ``refresh()`` is that tick, for a caller that wants to drive it.
"""

from __future__ import annotations

import math

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QWidget

from engine.params.actions import action

from .binding import GUI, ParamBridge, _blocked, make_control
from .shown_timer import ShownTimer

BEAT_HZ = 30
FLASH = 0.2  # of a beat: how long the light stays lit after the beat
LIGHT = "font: bold 18px; border-radius: 6px; padding: 2px 10px; min-width: 24px; qproperty-alignment: AlignCenter;"
STYLES = {  # (lit, downbeat) -> style
    (False, False): LIGHT + "background: #26262d; color: #6a6a75;",
    (False, True): LIGHT + "background: #26262d; color: #6a6a75;",
    (True, False): LIGHT + "background: #3ad36a; color: #101010;",
    (True, True): LIGHT + "background: #f0c419; color: #101010;",
}


class TempoWidget(QWidget):
    def __init__(self, session, bridge: ParamBridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session
        self.tempo = session.show.tempo
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.bpm = _bpm_box(bridge)
        row.addWidget(self.bpm)
        tap = action("tap")
        self.tap_button = QPushButton(tap.label.upper())
        self.tap_button.setObjectName("action:tap")
        self.tap_button.setToolTip(f"{tap.description}  (key {tap.key})\nOSC {tap.osc_address}")
        self.tap_button.setMinimumWidth(64)
        self.tap_button.clicked.connect(self.tap)
        row.addWidget(self.tap_button)
        self.light = QLabel("1")
        self.light.setObjectName("tempo:beat")
        self.light.setToolTip("The beat: lit on each beat, yellow on the first of a bar (where quantised recalls land)")
        self.light.setStyleSheet(STYLES[(False, True)])
        row.addWidget(self.light)
        per_bar = make_control(bridge, "beats_per_bar")
        per_bar.setToolTip("beats in a bar\n" + per_bar.toolTip())
        per_bar.setMaximumWidth(56)  # the top row is shared: the console fits 1280 px
        row.addWidget(per_bar)
        self.message = ""  # the last refusal, in the session's words
        self.beats_shown = 0  # how many beats the light has shown (tests, and a sign it moves)
        self._state = (-1, False)  # (beat count, lit) on show
        self._timer = ShownTimer(self, BEAT_HZ, self.refresh)

    def tap(self) -> bool:
        try:
            self.session.trigger("tap", None, source=GUI)
            return True
        except Exception as e:  # the session's one line
            self.message = str(e)
            self.tap_button.setToolTip(self.message)
            return False

    def beat_position(self) -> float:
        """Beats since the clock's bar origin (the fraction is the phase within the beat)."""
        t = self.tempo
        return (t.clock() - t.origin) * t.bpm / 60.0

    def refresh(self) -> bool:
        """Move the light to the clock; True when it changed (a label is touched only then)."""
        b = self.beat_position()
        beat = math.floor(b)
        lit = b - beat < FLASH
        if (beat, lit) == self._state:
            return False
        if beat != self._state[0]:
            self.beats_shown += 1
        self._state = (beat, lit)
        per_bar = max(1, int(self.session.store.get("beats_per_bar")))
        n = beat % per_bar
        self.light.setText(str(n + 1))
        self.light.setStyleSheet(STYLES[(lit, n == 0)])
        return True



def _bpm_box(bridge: ParamBridge) -> QDoubleSpinBox:
    """The BPM, large and typed into (applies on Enter or when the box loses focus), bound both ways."""
    p = bridge.store.spec("bpm")
    w = QDoubleSpinBox()
    w.setObjectName("param:bpm")
    w.setRange(p.minimum, p.maximum)
    w.setDecimals(1)
    w.setSingleStep(0.5)
    w.setSuffix(" BPM")
    w.setKeyboardTracking(False)
    w.setValue(bridge.store.get("bpm"))
    w.setStyleSheet("font: bold 16px;")
    w.setToolTip(f"{p.description}: type, or tap\n{p.range_text()}   OSC {p.osc_address}")
    w.valueChanged.connect(lambda v: bridge.write({"bpm": round(float(v), 1)}))
    bridge.bind("bpm", lambda v: _blocked(w, lambda: w.setValue(float(v))))
    w.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)  # right-click: Learn MIDI, as every control
    w.customContextMenuRequested.connect(lambda pos: bridge.control_menu(w, "bpm").exec(w.mapToGlobal(pos)))
    return w
