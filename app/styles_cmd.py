"""``dreamdeck styles``: the 26 built-in styles by number and name, and a contact sheet of them on any picture.

``dreamdeck styles`` lists them; ``dreamdeck styles --sheet sheet.png [--image photo.jpg]`` paints the
picture (default: the test pattern) in every style with DreamDeck's own style stream and lays the
tiles out with their numbers and names (docs/styles.jpg is one, made from a public-domain photograph).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from .errors import UserError

TILE_W, TILE_H, COLUMNS, LABEL = 256, 144, 6, 18


def _label(tile: np.ndarray, text: str) -> np.ndarray:
    out = np.zeros((tile.shape[0] + LABEL, tile.shape[1], 3), np.uint8)
    out[LABEL:] = tile
    cv2.putText(out, text, (4, LABEL - 5), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (235, 235, 235), 1, cv2.LINE_AA)
    return out


def contact_sheet(picture: np.ndarray) -> np.ndarray:
    """``picture`` (HxWx3 RGB) as it is and in each of the 26 styles, labelled, in rows of :data:`COLUMNS`."""
    from engine.frame_size import to_model_frame
    from engine.styles.catalog import STYLE_NAMES
    from engine.styles.loader import load_styles
    from engine.styles.stream import StyleSettings, StyleStream

    frame = to_model_frame(picture, TILE_W, TILE_H)
    stream = StyleStream(load_styles(), StyleSettings(width=TILE_W, height=TILE_H), frames_in_flight=1)
    tiles = [_label(frame, "input")]
    try:
        for i, name in enumerate(STYLE_NAMES):
            stream.apply(StyleSettings(width=TILE_W, height=TILE_H, prompts=((str(i), 1.0),)))
            tiles.append(_label(stream.process([frame])[0], f"{i}  {name}"))
    finally:
        stream.close()
    blank = np.zeros_like(tiles[0])
    tiles += [blank] * (-len(tiles) % COLUMNS)
    rows = [np.hstack(tiles[r : r + COLUMNS]) for r in range(0, len(tiles), COLUMNS)]
    return np.vstack(rows)


def cmd_styles(a: argparse.Namespace) -> int:
    from engine.styles.catalog import describe_styles

    if not a.sheet:
        print("The built-in styles (dreamdeck --model styles; a prompt slot takes the number, the name or image:PATH):")
        for line in describe_styles():
            print("  " + line)
        return 0
    from engine.media.files import MediaError, check_output_folder, read_image, write_image
    from engine.media.test_pattern import pattern_frame

    try:
        check_output_folder(a.sheet)
        if a.image and not Path(a.image).is_file():
            raise UserError(f"--image: no such picture: {a.image}")
        picture = read_image(a.image) if a.image else pattern_frame(1.0, 640, 360)
        write_image(a.sheet, contact_sheet(picture))
    except (MediaError, OSError) as e:
        raise UserError(str(e)) from None
    print(f"wrote the contact sheet of the 26 styles to {a.sheet}")
    return 0


def add_styles_command(sub) -> None:
    s = sub.add_parser("styles", help="list the 26 built-in styles, or paint a contact sheet of them")
    s.add_argument("--sheet", metavar="PNG", help="write a contact sheet of every style to this image")
    s.add_argument("--image", metavar="PICTURE", help="with --sheet: the picture to paint (default: the test pattern)")
    s.set_defaults(func=cmd_styles)
