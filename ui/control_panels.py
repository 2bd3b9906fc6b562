"""Panels generated from the registry: the prompt deck, the diffusion controls, the similarity filter."""

from __future__ import annotations

from PySide6.QtWidgets import QFormLayout, QGridLayout, QGroupBox, QLabel, QVBoxLayout, QWidget

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


class PromptDeck(QGroupBox):
    """Prompt slots (text applies on Enter, weight live), negative prompt, blend mode, seeds."""

    def __init__(self, bridge: ParamBridge, parent: QWidget | None = None):
        super().__init__("Prompt deck", parent)
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
            grid.addWidget(make_control(bridge, f"prompt.{i}.weight"), row, 2)
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
            grid.addWidget(make_control(bridge, f"seed.{i}.weight"), row, 2)
            row += 1
        grid.addWidget(QLabel("seed blend"), row, 0)
        grid.addWidget(make_control(bridge, "seed_blend"), row, 1)
        grid.setRowStretch(row + 1, 1)  # rows stay together at the top


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
