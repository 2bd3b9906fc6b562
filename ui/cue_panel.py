"""NEXT: the cue, the look to come, edited without touching the output, then TAKEn with the preset crossfade.

The panel is the program's controls over the cue's own registry (``session.show.cue.store``, the same
declarations as the program's): a prompt deck, the strength, a preset picker that cues a preset, "From
program" (``cue_reset``) and TAKE (``take``, also on its key).  The actions run through the session, as
OSC (``/dreamdeck/cue/...``) and MIDI run them.

The cue's controls are named ``cue:<name>`` (``cue:param:prompt.1.text``, ``cue:mute:1``, ...) so that
they never stand in for the program's (``param:...``) when something looks a control up by name; TAKE
and From program keep the table's ``action:take`` / ``action:cue_reset``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from engine.params.actions import action

from .binding import GUI, ParamBridge, make_control
from .control_panels import PromptDeck
from .shown_timer import ShownTimer

REFRESH_HZ = 4
TAKE_STYLE = ("QPushButton { background: #1f6f3a; color: white; font: bold 20px; padding: 10px; border-radius: 5px; }"
              " QPushButton:hover { background: #27884a; } QPushButton:pressed { background: #2fa35a; }")
PREFIX = "cue:"


class CuePanel(QGroupBox):
    def __init__(self, session, bridge: ParamBridge, parent: QWidget | None = None):
        """``bridge``: the window's (program) bridge; the cue's refusals are told there too (the status bar)."""
        super().__init__("NEXT (cue)", parent)
        self.session = session
        self.cue = session.show.cue
        self.bridge = ParamBridge(self.cue.store, parent=self)  # the cue's values, on the GUI thread
        self.setToolTip("The next look: edit it here without touching the output, then TAKE it "
                        "(with the preset crossfade and quantise)")
        col = QVBoxLayout(self)
        top = QHBoxLayout()
        self.picker = QComboBox()
        self.picker.setToolTip("a preset to cue: it is laid over the cue, the output does not change")
        top.addWidget(self.picker, 1)
        self.cue_button = QPushButton("Cue")
        self.cue_button.setObjectName("pick")  # -> cue:pick
        self.cue_button.setToolTip(action("cue_preset").description + f"\nOSC {action('cue_preset').osc_address}")
        self.cue_button.clicked.connect(self.cue_picked)
        top.addWidget(self.cue_button)
        self.reset_button = self._action_button("cue_reset")
        top.addWidget(self.reset_button)
        col.addLayout(top)
        form = QFormLayout()
        form.addRow("strength", make_control(self.bridge, "strength"))
        col.addLayout(form)
        self.deck = PromptDeck(self.bridge)
        self.deck.setTitle("Next prompts")
        col.addWidget(self.deck, 1)
        self.state = QLabel("")
        self.state.setObjectName("state")
        col.addWidget(self.state)
        self.take_button = self._action_button("take")
        self.take_button.setStyleSheet(TAKE_STYLE)
        self.take_button.setMinimumHeight(56)
        col.addWidget(self.take_button)
        self.message = QLabel("")
        self.message.setWordWrap(True)
        col.addWidget(self.message)
        self.bridge.error.connect(self._say)
        self.bridge.error.connect(bridge.error.emit)
        for w in self.findChildren(QWidget):  # never mistaken for the program's controls
            name = w.objectName()
            if name and not name.startswith(("action:", "qt_")):
                w.setObjectName(PREFIX + name)
        self._names: tuple[str, ...] | None = None
        self._shown_state = ""
        self._timer = ShownTimer(self, REFRESH_HZ, self.refresh)
        self.refresh()

    def _action_button(self, name: str) -> QPushButton:
        a = action(name)
        b = QPushButton(a.label)
        b.setObjectName(f"action:{name}")
        b.setToolTip(a.description + (f"  (key {a.key})" if a.key else "") + f"\nOSC {a.osc_address}")
        b.clicked.connect(lambda _=False, n=name: self.run(n))
        return b

    # -- actions ------------------------------------------------------------------------
    def run(self, name: str, arg=None) -> bool:
        """Run a cue action of the table through the session; the message line says what happened."""
        try:
            self.session.trigger(name, arg, source=GUI)
        except Exception as e:  # the session's one line
            self._say(str(e))
            return False
        done = {"take": "taken: the output crossfades to this look", "cue_reset": "the cue is the output's look again",
                "cue_preset": f"cued {arg}"}
        self._set(self.message, done.get(name, name))
        self.bridge.flush()  # the controls show the cue's new values now, not at the next tick
        self.refresh()
        return True

    def take(self) -> bool:
        return self.run("take")

    def cue_picked(self) -> bool:
        name = self.picker.currentText()
        return self.run("cue_preset", name) if name else False

    def _say(self, text: str) -> None:
        self._set(self.message, f"<span style='color:#ff6b6b'>{text}</span>")

    # -- following the show --------------------------------------------------------------
    def refresh(self) -> None:
        """The picker follows the preset list; the state line says what the cue holds (on change only)."""
        try:
            names = tuple(self.session.show.preset_names())
        except Exception:
            names = self._names or ()
        if names != self._names:
            self._names = names
            current = self.picker.currentText()
            self.picker.blockSignals(True)
            self.picker.clear()
            self.picker.addItems(list(names))
            if current in names:
                self.picker.setCurrentText(current)
            self.picker.blockSignals(False)
        preset = self.cue.preset
        text = f"holds preset <b>{preset}</b>" if preset else "holds its own look"
        if text != self._shown_state:
            self._shown_state = text
            self.state.setText(text)

    @staticmethod
    def _set(label: QLabel, text: str) -> None:
        if label.text() != text:
            label.setText(text)


    def shutdown(self) -> None:
        """Stop following the cue (the window's shutdown may call it; the panel's deletion is enough too)."""
        self._timer.stop()
        self.bridge.close()
