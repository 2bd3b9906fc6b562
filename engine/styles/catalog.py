"""The 26 built-in styles by number and by name, and what a prompt slot's text asks for.

A slot names a style by its number (``7``), by the name DreamDeck gives it
(``night-flame``; case, spaces and underscores do not matter), or takes any painting as
the style with ``image:PATH``.  An empty slot asks for nothing.  Anything else is refused
in one line that says what is allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Our names for the network's 26 styles, from how each one paints (docs/styles.jpg shows them all).
STYLE_NAMES: tuple[str, ...] = (
    "pastel-wash", "bold-ink", "charcoal-pastel", "neon-ribbons", "crimson-patch", "amber-mosaic",
    "indigo-dots", "night-flame", "rainbow-sketch", "teal-tiles", "rust-oil", "golden-lines",
    "lilac-haze", "acid-cubist", "ice-wash", "stained-glass", "ember-swirl", "woven-bars",
    "sepia-ink", "blue-night", "red-fauve", "paper-cut", "slate-oil", "ink-shadow",
    "frost-etch", "cobalt-collage",
)
NUM_STYLES = len(STYLE_NAMES)
DEFAULT_STYLE = STYLE_NAMES.index("blue-night")  # what an all-empty prompt deck paints
IMAGE_PREFIX = "image:"
ALLOWED = f"a style number 0-{NUM_STYLES - 1}, a style name (e.g. blue-night, night-flame; `dreamdeck styles` lists them) or image:PATH"


class StyleError(ValueError):
    """A slot's text names no style; the message says what is allowed."""


@dataclass(frozen=True)
class StyleChoice:
    """What one slot asks for: a built-in style (``index``) or a painting (``image``)."""

    index: int | None = None
    image: Path | None = None

    @property
    def label(self) -> str:
        return f"{self.index} {STYLE_NAMES[self.index]}" if self.index is not None else f"image {self.image.name}"


def _key(text: str) -> str:
    return text.strip().lower().replace("_", "-").replace(" ", "-")


_BY_NAME = {_key(n): i for i, n in enumerate(STYLE_NAMES)}


def parse_slot(text: str) -> StyleChoice | None:
    """The style a slot's text asks for (None: an empty slot).  Raises :class:`StyleError`."""
    t = text.strip()
    if not t:
        return None
    if t.lower().startswith(IMAGE_PREFIX):
        path = Path(t[len(IMAGE_PREFIX):].strip()).expanduser()
        if not str(path) or str(path) == ".":
            raise StyleError(f"{t!r} names no picture: write image:PATH, e.g. image:~/paintings/wave.jpg")
        return StyleChoice(image=path)
    if t.isdigit():
        i = int(t)
        if i >= NUM_STYLES:
            raise StyleError(f"there is no style {i}: use {ALLOWED}")
        return StyleChoice(index=i)
    i = _BY_NAME.get(_key(t))
    if i is None:
        raise StyleError(f"{t[:40]!r} is not a style: use {ALLOWED}")
    return StyleChoice(index=i)


def describe_styles() -> list[str]:
    """One line per style: number and name (for `dreamdeck styles` and the README)."""
    return [f"{i:2d}  {n}" for i, n in enumerate(STYLE_NAMES)]
