"""Two-way binding between the parameter registry and Qt widgets.

The store calls its listeners on whatever thread made the change (OSC, MIDI,
the preset recaller).  :class:`ParamBridge` collects those changes under a lock
and a Qt timer on the GUI thread applies the newest value of each name at most
``hz`` times a second, so a flood of OSC messages cannot swamp the interface.
Widgets are moved under a :class:`QSignalBlocker`, so a change that came from
the registry is never written back to it.

:func:`make_control` builds the widget a :class:`Param` asks for: FLOAT -> a
labelled slider, INT -> a spin box, BOOL -> a check box, CHOICE -> a combo box,
STR -> a line edit that applies on Enter.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

from PySide6.QtCore import QEvent, QObject, QSignalBlocker, Qt, QTimer, Signal
from PySide6.QtWidgets import (QAbstractSlider, QAbstractSpinBox, QCheckBox, QComboBox, QLineEdit, QMenu, QSpinBox,
                               QWidget)
from superqt import QLabeledDoubleSlider

from engine.params.registry import Kind, Param, ParamError, ParamStore

GUI = "gui"  # the source tag of every change the window makes


class ParamBridge(QObject):
    """Registry changes from any thread, delivered on the GUI thread, throttled and coalesced."""

    changed = Signal(str, object, object)  # name, value, source (GUI thread only)
    error = Signal(str)  # a refused write, in the registry's words

    def __init__(self, store: ParamStore, hz: float = 30.0, parent: QObject | None = None):
        super().__init__(parent)
        self.store = store
        self._lock = threading.Lock()
        self._pending: dict[str, tuple[Any, Any]] = {}
        self._setters: dict[str, list[Callable[[Any], None]]] = {}
        self._timer = QTimer(self)
        self._timer.setInterval(max(1, int(1000 / hz)))
        self._timer.timeout.connect(self.flush)
        self._timer.start()
        self._unsubscribe = store.subscribe(self._on_change)
        # set by the window: MIDI-learn for a parameter (right-click on its control -> "Learn MIDI")
        self.learn: Callable[[str], Any] | None = None
        self.forget: Callable[[str], Any] | None = None

    def control_menu(self, widget: QWidget, name: str) -> QMenu:
        """The right-click menu of a parameter's control: learn a MIDI control for it, or forget its mappings."""
        menu = QMenu(widget)
        menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # one menu per right-click, gone when closed
        learn = menu.addAction(f"Learn MIDI for {name}")
        learn.setEnabled(self.learn is not None)
        learn.triggered.connect(lambda: self.learn(name) if self.learn is not None else None)
        forget = menu.addAction("Forget MIDI mappings")
        forget.setEnabled(self.forget is not None)
        forget.triggered.connect(lambda: self.forget(name) if self.forget is not None else None)
        return menu

    def _on_change(self, name: str, value: Any, source: Any) -> None:  # any thread
        with self._lock:
            self._pending[name] = (value, source)

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        for name, (value, source) in pending.items():
            for setter in self._setters.get(name, ()):
                setter(value)
            self.changed.emit(name, value, source)

    def bind(self, name: str, setter: Callable[[Any], None]) -> None:
        """Call ``setter(value)`` on the GUI thread whenever ``name`` changes (not for our own writes' echo loop:
        the setter must block its widget's signals)."""
        self._setters.setdefault(name, []).append(setter)

    def resync(self, names) -> None:
        """Show the registry's values again in these controls (a change the live lock held, then dropped)."""
        for name in names:
            value = self.store.get(name)
            for setter in self._setters.get(name, ()):
                setter(value)

    def write(self, changes: dict[str, Any]) -> bool:
        try:
            self.store.update(changes, source=GUI)
            return True
        except ParamError as e:
            self.error.emit(str(e))
            return False

    def close(self) -> None:
        self._timer.stop()
        self._unsubscribe()


def _blocked(widget: QWidget, fn: Callable[[], None]) -> None:
    blocker = QSignalBlocker(widget)
    try:
        fn()
    finally:
        blocker.unblock()


class _WheelGuard(QObject):
    """A mouse wheel over a slider, spin box or list box scrolls the panel, not the value, unless the control has
    been clicked (has the keyboard): scrolling past the brightness slider must not dim the show."""

    def eventFilter(self, obj, event) -> bool:
        if event.type() == QEvent.Type.Wheel and not obj.hasFocus():
            event.ignore()
            return True
        return False


WHEEL_GUARD = _WheelGuard()


def _guard_wheel(widget: QWidget) -> None:
    for w in [widget, *widget.findChildren(QWidget)]:
        if isinstance(w, (QAbstractSlider, QAbstractSpinBox, QComboBox)):
            w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)  # the wheel needs a click first, never mere hovering
            w.installEventFilter(WHEEL_GUARD)


def make_control(bridge: ParamBridge, name: str, label: str | None = None) -> QWidget:
    """The widget for parameter ``name``, bound both ways to the registry."""
    p: Param = bridge.store.spec(name)
    value = bridge.store.get(name)
    tip = f"{p.description}\n{p.range_text()}   OSC {p.osc_address}"
    k = p.kind
    if k is Kind.FLOAT:
        w = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        w.setRange(p.minimum or 0.0, p.maximum if p.maximum is not None else 1.0)
        span = (p.maximum or 1.0) - (p.minimum or 0.0)
        w.setDecimals(2 if span <= 10 else 1)
        w.setSingleStep(span / 100.0)
        w.setValue(value)
        w.valueChanged.connect(lambda v: bridge.write({name: float(v)}))
        bridge.bind(name, lambda v: _blocked(w, lambda: w.setValue(float(v))))
    elif k is Kind.INT:
        w = QSpinBox()
        w.setRange(int(p.minimum if p.minimum is not None else -(2**31)), int(p.maximum if p.maximum is not None else 2**31 - 1))
        if p.multiple_of:
            w.setSingleStep(p.multiple_of)
        if p.unit:
            w.setSuffix(f" {p.unit}")
        w.setValue(value)
        w.setKeyboardTracking(False)  # typed numbers apply on Enter / focus out, not per digit
        w.valueChanged.connect(lambda v: bridge.write({name: int(v)}))
        bridge.bind(name, lambda v: _blocked(w, lambda: w.setValue(int(v))))
    elif k in (Kind.BOOL, Kind.TRIGGER):
        w = QCheckBox(label or "")
        w.setChecked(bool(value))
        w.toggled.connect(lambda on: bridge.write({name: bool(on)}))
        bridge.bind(name, lambda v: _blocked(w, lambda: w.setChecked(bool(v))))
    elif k is Kind.CHOICE:
        w = QComboBox()
        w.addItems(list(p.choices))
        w.setCurrentText(value)
        w.currentTextChanged.connect(lambda t: bridge.write({name: t}))
        bridge.bind(name, lambda v: _blocked(w, lambda: w.setCurrentText(str(v))))
    else:  # STR
        w = QLineEdit(value)
        w.setPlaceholderText(p.description + " (Enter applies)")
        w.setMaxLength(p.max_length)
        w.returnPressed.connect(lambda: bridge.write({name: w.text()}))
        bridge.bind(name, lambda v: _blocked(w, lambda: (w.setText(str(v)), w.setCursorPosition(0)))
                    if not w.hasFocus() else None)
        w.setCursorPosition(0)  # a long prompt shows its beginning, not its end
    w.setToolTip(tip)
    w.setObjectName(f"param:{name}")
    _guard_wheel(w)
    if k is not Kind.STR:  # right-click: Learn MIDI (text has nothing a controller could send)
        w.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        w.customContextMenuRequested.connect(lambda pos: bridge.control_menu(w, name).exec(w.mapToGlobal(pos)))
    return w
