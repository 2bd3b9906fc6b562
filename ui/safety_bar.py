"""The always-visible safety bar: Blackout, Freeze, Passthrough, Fade to black, brightness, Panic."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget

from .binding import GUI, ParamBridge, _blocked, make_control

# (parameter, button text, shortcut, colour when on)
TOGGLES = (
    ("blackout", "BLACKOUT", "B", "#d01818"),
    ("freeze", "FREEZE", "F", "#1f6fd0"),
    ("passthrough", "PASSTHROUGH", "P", "#8a4fd0"),
    ("fade_to_black", "FADE TO BLACK", "Shift+B", "#c06a00"),
)
PANIC_KEY = "Esc"
SAFE_PRESET = "blackout-safe"

SHORTCUTS = [(key, f"{text.title()} on/off") for _, text, key, _ in TOGGLES] + [
    (PANIC_KEY, "PANIC: blackout, stop every fade and preset crossfade, recall 'blackout-safe'"),
    ("Enter", "In a prompt or text field: apply it (sliders apply live)"),
    ("Ctrl+L", "Live lock on/off (asks before model reload, resolution change, quit)"),
    ("F1 or ?", "This help"),
]

BUTTON_CSS = """
QPushButton {{ font-weight: bold; font-size: 15px; padding: 10px 14px; border-radius: 5px;
               background: #2a2a30; color: #e8e8e8; border: 2px solid {c}; }}
QPushButton:checked {{ background: {c}; color: white; }}
"""


class SafetyBar(QFrame):
    def __init__(self, bridge: ParamBridge, show=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.bridge = bridge
        self.show_control = show
        self.setObjectName("safetyBar")
        self.setStyleSheet("#safetyBar { background: #15151a; border-top: 2px solid #d01818; }"
                           " #safetyBar QLabel, #safetyBar QSlider, #safetyBar QAbstractSpinBox { background: transparent; }"
                           " #safetyBar QLabel { font-weight: bold; }")
        row = QHBoxLayout(self)
        row.setContentsMargins(8, 6, 8, 6)
        self.buttons: dict[str, QPushButton] = {}
        for name, text, key, colour in TOGGLES:
            b = QPushButton(f"{text}  [{key}]")
            b.setCheckable(True)
            b.setChecked(bool(bridge.store.get(name)))
            b.setStyleSheet(BUTTON_CSS.format(c=colour))
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.toggled.connect(lambda on, n=name: bridge.write({n: bool(on)}))
            bridge.bind(name, lambda v, b=b: _blocked(b, lambda: b.setChecked(bool(v))))
            b.setToolTip(bridge.store.spec(name).description + f"  (key {key})")
            self.buttons[name] = b
            row.addWidget(b)
            if name == "passthrough":
                row.addWidget(QLabel("xfade"))
                xf = make_control(bridge, "passthrough_time")
                xf.setMinimumWidth(110)
                row.addWidget(xf)
            if name == "fade_to_black":
                row.addWidget(QLabel("time"))
                ft = make_control(bridge, "fade_time")
                ft.setMinimumWidth(110)
                row.addWidget(ft)
        row.addSpacing(10)
        row.addWidget(QLabel("Brightness"))
        bright = make_control(bridge, "brightness")
        bright.setMinimumWidth(150)
        row.addWidget(bright, 1)
        self.panic_button = QPushButton(f"PANIC  [{PANIC_KEY}]")
        self.panic_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.panic_button.setStyleSheet(
            "QPushButton { font-weight: bold; font-size: 17px; padding: 10px 22px; border-radius: 5px;"
            " background: #ff2020; color: white; border: 3px solid #ffd000; }"
        )
        self.panic_button.setToolTip(SHORTCUTS[len(TOGGLES)][1])
        self.panic_button.clicked.connect(self.panic)
        row.addWidget(self.panic_button)
        self.message = ""

    def install_shortcuts(self, window: QWidget) -> list[QShortcut]:
        out = []
        for name, _, key, _ in TOGGLES:
            s = QShortcut(QKeySequence(key), window)
            s.activated.connect(lambda n=name: self.toggle(n))
            out.append(s)
        s = QShortcut(QKeySequence(Qt.Key.Key_Escape), window)
        s.activated.connect(self.panic)
        out.append(s)
        return out

    def toggle(self, name: str) -> None:
        self.bridge.write({name: not bool(self.bridge.store.get(name))})

    def panic(self) -> None:
        """Black now; stop every fade; then the safe preset (applied at once, not faded)."""
        store = self.bridge.store
        recaller = getattr(self.show_control, "recaller", None)
        if recaller is not None:
            recaller.cancel()
        store.update({"blackout": True, "passthrough": False, "freeze": False}, source=GUI)
        if self.show_control is not None:
            try:
                preset = self.show_control.find_preset(SAFE_PRESET)
                recaller.apply_now(preset.values)
            except Exception as e:  # the show stays black either way
                self.message = f"panic: blackout on; preset {SAFE_PRESET!r} not recalled: {e}"
        store.update({"blackout": True}, source=GUI)
