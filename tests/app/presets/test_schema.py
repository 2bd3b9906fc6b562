"""The preset format's versions: v1 (prompt list) migrates to v2 (prompt.N values)."""

import json

import pytest

from app.presets import PresetError
from app.presets.schema import CURRENT_VERSION, read_document

V1 = {
    "schema_version": 1,
    "name": "old-look",
    "comment": "from the dev builds",
    "prompts": [{"text": "a forest", "weight": 1.0}, {"text": "fog", "weight": 0.25}],
    "params": {"strength": 0.4, "guidance": "full"},
}


def test_v1_migrates_to_v2():
    doc = read_document(json.loads(json.dumps(V1)))
    assert doc.schema_version == CURRENT_VERSION == 2
    assert doc.name == "old-look" and doc.description == "from the dev builds"
    assert doc.values == {
        "prompt.1.text": "a forest", "prompt.1.weight": 1.0,
        "prompt.2.text": "fog", "prompt.2.weight": 0.25,
        "prompt.3.text": "", "prompt.3.weight": 0.0,  # v1's list was the whole prompt set
        "prompt.4.text": "", "prompt.4.weight": 0.0,
        "strength": 0.4, "guidance": "full",
    }


def test_v1_without_prompts_leaves_the_prompts_alone():
    doc = read_document({"schema_version": 1, "name": "s", "params": {"strength": 0.2}})
    assert doc.values == {"strength": 0.2}


@pytest.mark.parametrize(
    "change, expect",
    [
        ({"prompts": [{"text": str(i)} for i in range(5)]}, "cannot be migrated from version 1: it lists 5 prompts; DreamDeck has 4"),
        ({"params": {"prompt.1.text": "x"}}, "sets prompt.1.text both in 'prompts' and in 'params'"),
        ({"prompts": [{"text": "x", "weight": 2}]}, "not a valid version 1 preset: prompts.0.weight"),
        ({"values": {}}, "values: unknown field"),
    ],
)
def test_bad_v1_documents(change, expect):
    with pytest.raises(PresetError, match=expect.replace("(", r"\(").replace(")", r"\)")):
        read_document({**V1, **change})


def test_a_v1_file_loads_through_the_store_and_saves_as_v2(presets):
    presets.directory.mkdir(parents=True)
    (presets.directory / "old-look.json").write_text(json.dumps(V1))
    p = presets.load("old-look")
    assert p.values["prompt.2.text"] == "fog" and p.values["strength"] == 0.4
    assert json.loads((presets.directory / "old-look.json").read_text())["schema_version"] == 1  # reading never rewrites
    presets.save(p.name, p.values, p.description)
    doc = json.loads((presets.directory / "old-look.json").read_text())
    assert doc["schema_version"] == 2 and "prompts" not in doc and doc["values"]["prompt.1.text"] == "a forest"


def test_future_version_is_refused_with_advice():
    with pytest.raises(PresetError, match=r"newer DreamDeck \(schema_version 9; this version reads up to 2\) - update"):
        read_document({"schema_version": 9, "name": "x", "anything": ["new"]})
