"""The help over the console (F1 or ?): every key of the action table, the window's own keys, and the built-in styles."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from engine.params.actions import shortcuts
from engine.styles.catalog import STYLE_NAMES

WINDOW_KEYS = [
    ("Enter", "In a prompt or text field: apply it (sliders apply live)"),
    ("Esc", "Leave a text field (the letter keys act again), close this help, answer an open question no"),
    ("Ctrl+L", "Live lock on/off (asks before model reload, resolution change, quit)"),
    ("F1 or ?", "This help"),
    ("Right-click", "On a slider, box or switch: Learn MIDI (then move a control on the controller)"),
]


def key_forms(key: str) -> list[str]:
    """A letter key (B, Shift+B) also acts as Ctrl+B / Ctrl+Shift+B: from a text field, where the letter types."""
    letter = key.rpartition("+")[2]
    if len(letter) == 1 and letter.isalpha() and "Ctrl" not in key:
        return [key, f"Ctrl+{key}"]
    return [key]


def help_rows() -> list[tuple[str, str]]:
    return [(" or ".join(key_forms(k)), f"{a.label}: {a.description}") for k, a in shortcuts()] + WINDOW_KEYS


def styles_table() -> str:
    """The 26 built-in styles, number and name, in two columns: what a prompt slot takes on `styles`."""
    half = (len(STYLE_NAMES) + 1) // 2
    cells = [f"<td style='padding:1px 6px'><b>{i}</b></td><td style='padding:1px 14px 1px 0'>{n}</td>"
             for i, n in enumerate(STYLE_NAMES)]
    rows = "".join(f"<tr>{cells[r]}{cells[r + half] if r + half < len(cells) else ''}</tr>" for r in range(half))
    return f"<h2>Styles</h2><p>On <b>styles</b>, a prompt slot takes a number,<br>a name or image:PATH</p><table>{rows}</table>"


class HelpOverlay(QLabel):
    def __init__(self, parent: QWidget):
        rows = "".join(f"<tr><td style='padding:3px 16px 3px 0'><b>{k}</b></td><td>{t}</td></tr>" for k, t in help_rows())
        keys = f"<h2>Keyboard</h2><table>{rows}</table><p>F1, ? or a click closes this.</p>"
        super().__init__(f"<table><tr><td valign='top' style='padding-right:40px'>{keys}</td>"
                         f"<td valign='top' style='font-size:14px'>{styles_table()}</td></tr></table>", parent)
        self.setStyleSheet("background: rgba(10,10,14,235); color: white; font-size: 16px; padding: 30px;"
                           " border: 2px solid #9fc3ff;")
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hide()

    def mousePressEvent(self, event) -> None:
        self.hide()

    def toggle(self) -> None:
        """Show it over the parent's area (less a margin), or hide it."""
        if self.isVisible():
            self.hide()
            return
        self.setGeometry(self.parentWidget().rect().adjusted(80, 60, -80, -120))
        self.raise_()
        self.show()
