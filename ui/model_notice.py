"""The line under the top row that says what the built-in models are and how to load a diffusion model.

``styles`` (the built-in style network) gets a calm note: what a prompt slot takes there, that seeds,
steps and guidance do nothing on it, and how to load a diffusion model.  ``tiny`` (random weights) gets
the warning that it paints texture, not pictures.  Any other model: nothing.
"""

from __future__ import annotations

from PySide6.QtWidgets import QLabel, QWidget

DIFFUSION_HINT = ("For diffusion, load <b>stabilityai/sd-turbo</b> in the Model panel or start "
                  "<code>dreamdeck --model stabilityai/sd-turbo</code> &mdash; it downloads once from Hugging Face (about 2.5 GB).")
STYLES_NOTE = ("Painting with the built-in <b>styles</b>: each prompt slot names a style by number or name "
               "(<code>7</code>, <code>blue-night</code>; F1 lists them) or takes a painting (<code>image:PATH</code>), "
               "the faders blend them, <b>strength</b> mixes in the input; seeds, steps and guidance have no effect. "
               + DIFFUSION_HINT)
TINY_BANNER = "Running the built-in <b>tiny</b> test model (random weights: texture, not pictures). " + DIFFUSION_HINT
LOOKS = {
    "styles": (STYLES_NOTE, "background: #102a3b; color: #cfe8ff; padding: 6px; border: 1px solid #2f6a8f;"),
    "tiny": (TINY_BANNER, "background: #3b3000; color: #ffe9a0; padding: 6px; border: 1px solid #8a7000;"),
}


class ModelNotice(QLabel):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.model: str | None = None

    def show_for(self, model: str) -> None:
        key = str(model).strip().lower()
        look = LOOKS.get(key)
        if key != self.model and look is not None:
            self.setText(look[0])
            self.setStyleSheet(look[1])
        self.model = key
        self.setVisible(look is not None)
