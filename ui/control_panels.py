"""Panels generated from the registry: the prompt deck, the diffusion controls, the similarity filter."""

from __future__ import annotations

import random

from PySide6.QtWidgets import (QFormLayout, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton,
                               QVBoxLayout, QWidget)

from engine.params.catalog import PROMPT_SLOTS, SEED_SLOTS

from .binding import ParamBridge, make_control


def param_form(bridge: ParamBridge, title: str, names: list[str], labels: dict[str, str] | None = None) -> QGroupBox:
    """A group box with one row per parameter, each control made by :func:`make_control`."""
    box = QGroupBox(title)
    form = QFormLayout(box)
    labels = labels or {}
    for n in names:
        p = bridge.store.spec(n)
        text = labels.get(n, n.replace("_", " "))
        if p.unit and p.kind.value == "float":
            text += f" ({p.unit})"
        form.addRow(text, make_control(bridge, n))
    return box


WEIGHT_MIN = 120  # px of a blend weight slider (label included)


class PromptDeck(QGroupBox):
    """Prompt slots (text applies on Enter, weight live) with mute / move up / move down / clear,
    an "add" line, negative prompt, blend mode, seeds with randomise and lock."""

    TOOLTIP = (f"The engine has a fixed {PROMPT_SLOTS} prompt slots. 'Add' (the + line at the bottom) fills the "
               "first empty slot; × clears a slot (text '' and weight 0); ▲/▼ swap a slot with its neighbour "
               "(text and weight in one change, so the blend never sees half a swap); M mutes a slot "
               "(weight 0) and un-muting restores its weight.")

    def __init__(self, bridge: ParamBridge, parent: QWidget | None = None):
        super().__init__("Prompt deck", parent)
        self.bridge = bridge
        self.store = bridge.store
        self.setToolTip(self.TOOLTIP)
        self.muted: dict[int, float] = {}  # slot -> weight to restore
        self.mute_buttons: dict[int, QPushButton] = {}
        self.seed_locks: dict[int, QPushButton] = {}
        self.seed_random: dict[int, QPushButton] = {}
        grid = QGridLayout(self)
        grid.setColumnStretch(1, 3)
        grid.setColumnStretch(2, 2)
        grid.setVerticalSpacing(8)
        row = 0
        for i in range(1, PROMPT_SLOTS + 1):
            grid.addWidget(QLabel(f"{i}"), row, 0)
            text = make_control(bridge, f"prompt.{i}.text")
            text.setPlaceholderText(f"prompt {i}: type, then Enter")
            grid.addWidget(text, row, 1)
            weight = make_control(bridge, f"prompt.{i}.weight")
            weight.setMinimumWidth(WEIGHT_MIN)  # a usable travel for a blend, never squeezed to a dot
            grid.addWidget(weight, row, 2)
            tools = QHBoxLayout()
            mute = _small("M", f"mute slot {i} (weight 0; un-mute restores the weight)", checkable=True)
            mute.setObjectName(f"mute:{i}")
            mute.toggled.connect(lambda on, i=i: self.set_muted(i, on))
            self.mute_buttons[i] = mute
            up = _small("▲", f"move slot {i} up")
            up.setObjectName(f"up:{i}")
            up.clicked.connect(lambda _=False, i=i: self.move(i, -1))
            up.setEnabled(i > 1)
            down = _small("▼", f"move slot {i} down")
            down.setObjectName(f"down:{i}")
            down.clicked.connect(lambda _=False, i=i: self.move(i, +1))
            down.setEnabled(i < PROMPT_SLOTS)
            clear = _small("×", f"clear slot {i} (text '' and weight 0)")
            clear.setObjectName(f"clear:{i}")
            clear.clicked.connect(lambda _=False, i=i: self.clear(i))
            for b in (mute, up, down, clear):
                tools.addWidget(b)
            grid.addLayout(tools, row, 3)
            bridge.bind(f"prompt.{i}.weight", lambda v, i=i: self._weight_moved(i, v))
            row += 1
        grid.addWidget(QLabel("+"), row, 0)
        self.add_edit = QLineEdit()
        self.add_edit.setObjectName("prompt:add")
        self.add_edit.setPlaceholderText("add a prompt: fills the first empty slot (Enter or +)")
        self.add_edit.setToolTip(self.TOOLTIP)
        self.add_edit.returnPressed.connect(self.add_from_edit)
        grid.addWidget(self.add_edit, row, 1, 1, 2)
        add = _small("+", "add: fill the first empty slot with this prompt (weight 1)")
        add.setObjectName("prompt:add_button")
        add.clicked.connect(self.add_from_edit)
        grid.addWidget(add, row, 3)
        row += 1
        grid.addWidget(QLabel("–"), row, 0)
        neg = make_control(bridge, "negative_prompt")
        neg.setPlaceholderText("negative prompt: what to move away from (Enter)")
        grid.addWidget(neg, row, 1, 1, 2)
        row += 1
        grid.addWidget(QLabel("blend"), row, 0)
        grid.addWidget(make_control(bridge, "prompt_blend"), row, 1)
        row += 1
        for i in range(1, SEED_SLOTS + 1):
            grid.addWidget(QLabel(f"seed {i}"), row, 0)
            grid.addWidget(make_control(bridge, f"seed.{i}.value"), row, 1)
            seed_weight = make_control(bridge, f"seed.{i}.weight")
            seed_weight.setMinimumWidth(WEIGHT_MIN)
            grid.addWidget(seed_weight, row, 2)
            tools = QHBoxLayout()
            rnd = _small("Rnd", f"new random seed for slot {i}")
            rnd.setObjectName(f"seed_random:{i}")
            rnd.clicked.connect(lambda _=False, i=i: self.randomise_seed(i))
            lock = _small("Lock", f"lock seed {i}: randomise leaves it alone", checkable=True)
            lock.setObjectName(f"seed_lock:{i}")
            lock.toggled.connect(lambda on, b=rnd: b.setEnabled(not on))
            self.seed_random[i], self.seed_locks[i] = rnd, lock
            tools.addWidget(rnd)
            tools.addWidget(lock)
            grid.addLayout(tools, row, 3)
            row += 1
        grid.addWidget(QLabel("seed blend"), row, 0)
        grid.addWidget(make_control(bridge, "seed_blend"), row, 1)
        self.randomise_all_button = QPushButton("Randomise unlocked seeds")
        self.randomise_all_button.setObjectName("seed_random:all")
        self.randomise_all_button.clicked.connect(self.randomise_unlocked)
        grid.addWidget(self.randomise_all_button, row, 2, 1, 2)
        grid.setRowStretch(row + 1, 1)  # rows stay together at the top

    # -- prompt slots ---------------------------------------------------------------------
    def set_muted(self, i: int, on: bool) -> None:
        w = f"prompt.{i}.weight"
        if on:
            self.muted[i] = float(self.store.get(w))
            self.bridge.write({w: 0.0})
        else:
            restore = self.muted.pop(i, 0.0)
            self.bridge.write({w: restore if restore > 0 else 1.0})

    def _weight_moved(self, i: int, v) -> None:
        """A weight set elsewhere (slider, OSC, preset) while muted ends the mute."""
        if i in self.muted and float(v) != 0.0:
            self.muted.pop(i)
            b = self.mute_buttons[i]
            b.blockSignals(True)
            b.setChecked(False)
            b.blockSignals(False)

    def _set_mute_state(self, i: int, restore: float | None) -> None:
        b = self.mute_buttons[i]
        b.blockSignals(True)
        b.setChecked(restore is not None)
        b.blockSignals(False)
        if restore is None:
            self.muted.pop(i, None)
        else:
            self.muted[i] = restore

    def move(self, i: int, step: int) -> bool:
        j = i + step
        if not 1 <= j <= PROMPT_SLOTS:
            return False
        g = self.store.get
        ok = self.bridge.write({f"prompt.{i}.text": g(f"prompt.{j}.text"), f"prompt.{i}.weight": g(f"prompt.{j}.weight"),
                                f"prompt.{j}.text": g(f"prompt.{i}.text"), f"prompt.{j}.weight": g(f"prompt.{i}.weight")})
        if ok:  # the mute state travels with the prompt
            mi, mj = self.muted.get(i), self.muted.get(j)
            self._set_mute_state(i, mj)
            self._set_mute_state(j, mi)
        return ok

    def clear(self, i: int) -> bool:
        self._set_mute_state(i, None)
        return self.bridge.write({f"prompt.{i}.text": "", f"prompt.{i}.weight": 0.0})

    def add(self, text: str) -> int | None:
        """Fill the first slot with no text; the slot number, or None when all are in use."""
        text = text.strip()
        if not text:
            return None
        for i in range(1, PROMPT_SLOTS + 1):
            if not self.store.get(f"prompt.{i}.text").strip():
                self._set_mute_state(i, None)
                return i if self.bridge.write({f"prompt.{i}.text": text, f"prompt.{i}.weight": 1.0}) else None
        self.bridge.error.emit(f"all {PROMPT_SLOTS} prompt slots are in use: clear one (×) first")
        return None

    def add_from_edit(self) -> None:
        if self.add(self.add_edit.text()) is not None:
            self.add_edit.clear()

    # -- seeds ------------------------------------------------------------------------------
    def randomise_seed(self, i: int) -> bool:
        if self.seed_locks[i].isChecked():
            return False
        return self.bridge.write({f"seed.{i}.value": random.randint(0, 2**31 - 1)})

    def randomise_unlocked(self) -> None:
        changes = {f"seed.{i}.value": random.randint(0, 2**31 - 1) for i in self.seed_locks if not self.seed_locks[i].isChecked()}
        if changes:
            self.bridge.write(changes)


def _small(text: str, tip: str, checkable: bool = False) -> QPushButton:
    b = QPushButton(text)
    b.setToolTip(tip)
    b.setCheckable(checkable)
    b.setFixedWidth(max(34, b.fontMetrics().horizontalAdvance(text) + 34))  # the style sheet pads buttons
    return b


def diffusion_panel(bridge: ParamBridge) -> QWidget:
    w = QWidget()
    col = QVBoxLayout(w)
    col.setContentsMargins(0, 0, 0, 0)
    col.addWidget(param_form(bridge, "Diffusion", ["strength", "steps", "guidance", "guidance_scale", "delta"],
                             {"guidance": "CFG mode", "guidance_scale": "guidance scale", "steps": "steps (reload)"}))
    col.addWidget(param_form(bridge, "Similarity filter", ["similarity_filter", "similarity_threshold", "max_skip_frame"],
                             {"similarity_filter": "skip still input", "similarity_threshold": "threshold", "max_skip_frame": "max skip"}))
    col.addStretch(1)
    return w
