"""The always-visible safety bar: Blackout, Freeze, Passthrough, Fade to black, brightness, Panic."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QAbstractSpinBox, QApplication, QFrame, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QTextEdit, QWidget)

from engine.params.actions import ACTIONS, action

from .binding import GUI, ParamBridge, _blocked, make_control

COLOURS = {"blackout": "#d01818", "freeze": "#1f6fd0", "passthrough": "#8a4fd0", "fade_to_black": "#c06a00"}
# the toggles of the action table, with their colour when on: (action, button text, key, colour)
TOGGLES = tuple((a.param, a.label.upper(), a.key, COLOURS.get(a.param, "#888888")) for a in ACTIONS if a.toggle)
PANIC = action("panic")
RELEASE = action("release")
SLIDER_MIN = 90  # the bar's sliders share what is left; at 1280 px each keeps this much

BUTTON_CSS = """
QPushButton {{ font-weight: bold; font-size: 14px; padding: 4px 10px; border-radius: 5px;
               background: #2a2a30; color: #e8e8e8; border: 2px solid {c}; }}
QPushButton:checked {{ background: {c}; color: white; }}
"""


def leave_text_field(widget: QWidget) -> None:
    """A click on a safety control takes the focus out of a text field, so the next B acts instead of typing."""
    focus = QApplication.focusWidget()
    if isinstance(focus, (QLineEdit, QAbstractSpinBox, QTextEdit)) and focus.window() is widget.window():
        focus.clearFocus()


class SafetyBar(QFrame):
    def __init__(self, bridge: ParamBridge, session=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.session = session  # runs PANIC (the action table's executor)
        self.setObjectName("safetyBar")
        self.setStyleSheet("#safetyBar { background: #15151a; border-top: 2px solid #d01818; }"
                           " #safetyBar QLabel, #safetyBar QSlider, #safetyBar QAbstractSpinBox { background: transparent; }"
                           " #safetyBar QLabel { font-weight: bold; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 8, 6)
        self.buttons: dict[str, QPushButton] = {}
        for name, text, key, colour in TOGGLES:
            b = QPushButton(f"{text}\n{key}")  # two lines: the bar fits a 1280-wide screen
            b.setObjectName(f"action:{name}")
            b.setCheckable(True)
            b.setChecked(bool(bridge.store.get(name)))
            b.setStyleSheet(BUTTON_CSS.format(c=colour))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.toggled.connect(lambda on, n=name: (bridge.write({n: bool(on)}), leave_text_field(self)))
            bridge.bind(name, lambda v, b=b: _blocked(b, lambda: b.setChecked(bool(v))))
            b.setToolTip(bridge.store.spec(name).description + f"  (key {key})")
            self.buttons[name] = b
            row.addWidget(b)
            if name == "passthrough":
                row.addWidget(QLabel("xfade"))
                xf = make_control(bridge, "passthrough_time")
                xf.setMinimumWidth(SLIDER_MIN)
                row.addWidget(xf)
            if name == "fade_to_black":
                row.addWidget(QLabel("time"))
                ft = make_control(bridge, "fade_time")
                ft.setMinimumWidth(SLIDER_MIN)
                row.addWidget(ft)
        row.addSpacing(10)
        row.addWidget(QLabel("Brightness"))
        bright = make_control(bridge, "brightness")
        bright.setMinimumWidth(SLIDER_MIN)
        row.addWidget(bright, 1)
        self.release_button = QPushButton(f"{RELEASE.label.upper()}\n{RELEASE.key}")
        self.release_button.setObjectName("action:release")
        self.release_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.release_button.setStyleSheet(BUTTON_CSS.format(c="#3ad36a"))
        self.release_button.setToolTip(f"{RELEASE.description}  (key {RELEASE.key})")
        self.release_button.clicked.connect(self.release)
        row.addWidget(self.release_button)
        self.panic_button = QPushButton(f"{PANIC.label}\n{PANIC.key}")
        self.panic_button.setObjectName("action:panic")
        self.panic_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.panic_button.setStyleSheet(
            "QPushButton { font-weight: bold; font-size: 16px; padding: 4px 18px; border-radius: 5px;"
            " background: #ff2020; color: white; border: 3px solid #ffd000; }"
        )
        self.panic_button.setToolTip(f"{PANIC.description}  (key {PANIC.key})")
        self.panic_button.clicked.connect(self.panic)
        row.addWidget(self.panic_button)
        self.message = ""

    def toggle(self, name: str) -> None:
        self.bridge.write({name: not bool(self.bridge.store.get(name))})

    def release(self) -> None:
        """Release all: every safety control off in one action (the table's release)."""
        leave_text_field(self)
        if self.session is not None:
            self.session.trigger("release", source=GUI)
        self.message = ""

    def panic(self) -> None:
        """The action table's PANIC: black now, every fade stopped, the safe preset at once."""
        leave_text_field(self)
        try:
            self.message = (self.session.trigger("panic", source=GUI) if self.session is not None else "") or ""
        except Exception as e:  # the show is black either way: say what else went wrong
            self.bridge.store.update({"blackout": True}, source=GUI)
            self.message = f"panic: blackout on; {e}"
