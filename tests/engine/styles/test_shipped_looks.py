"""The shipped looks made for the built-in styles name real styles in every slot they use."""

import json
from pathlib import Path

from engine.styles.catalog import parse_slot

LOOKS = Path(__file__).resolve().parents[3] / "presets" / "looks"


def test_every_styles_look_names_styles():
    looks = sorted(LOOKS.glob("canvas-*.json"))
    assert len(looks) >= 3
    for path in looks:
        values = json.loads(path.read_text())["values"]
        used = [values[f"prompt.{i}.text"] for i in range(1, 5) if values[f"prompt.{i}.weight"] > 0]
        assert used and all(parse_slot(t) is not None for t in used), path.name
        assert "model" not in values  # a preset never switches the model
