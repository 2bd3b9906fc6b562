"""The preset file format, its versions and the migrations between them.

Current format (``schema_version`` 2), one UTF-8 JSON object per file::

    {
      "schema_version": 2,
      "name": "dreamy-slow",
      "description": "Soft pastel dream, slow drift",      (optional)
      "values": {"prompt.1.text": "...", "prompt.1.weight": 1.0, "strength": 0.35}
    }

``values`` maps registry parameter names (engine/params/catalog.py) to JSON scalars
in the parameter's own unit.  A preset may be partial: a recall changes only the
parameters it lists.  Reload-level parameters (model, size, steps, ...) may be listed;
they are stored at recall but take effect when the stream is next prepared.
Triggers (``tap``) and the show's own settings (tempo and preset groups: bpm,
preset_fade_time, ...) are not part of a look and are refused.

Version 1 (the development builds' format, read and migrated, never written)::

    {
      "schema_version": 1,
      "name": "old-look",
      "comment": "free text",                                (became "description")
      "prompts": [{"text": "a forest", "weight": 1.0}, ...], (the whole prompt set, in slot order)
      "params": {"strength": 0.4}                            (became "values")
    }

Version 1 always stored the whole prompt set, so the migration writes every slot:
the listed prompts into ``prompt.1..N.text/weight`` and the unused slots as empty
text with weight 0.

To change the format: add a model for the new version, a function that turns a
document of the previous version into the new one, register it in ``MIGRATIONS``
and raise ``CURRENT_VERSION``.  Old files are migrated in memory when read and
written in the current version when saved again.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Mapping, Union

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, ValidationError

from engine.params.catalog import PROMPT_SLOTS
from engine.params.registry import Kind, Param, ParamError

from .errors import PresetError

CURRENT_VERSION = 2
SHOW_SETTING_GROUPS = ("tempo", "presets")  # the show's settings, not part of a look

Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PresetDocument(_Model):
    """A preset file in the current format (version 2)."""

    schema_version: Literal[2] = CURRENT_VERSION
    name: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=2000)
    values: dict[str, Scalar] = Field(default_factory=dict)


class PromptV1(_Model):
    text: StrictStr
    weight: float = Field(default=1.0, ge=0.0, le=1.0)


class PresetDocumentV1(_Model):
    schema_version: Literal[1]
    name: str = Field(min_length=1, max_length=200)
    comment: str = Field(default="", max_length=2000)
    prompts: list[PromptV1] = Field(default_factory=list)
    params: dict[str, Scalar] = Field(default_factory=dict)


def migrate_v1_to_v2(doc: PresetDocumentV1) -> dict:
    if len(doc.prompts) > PROMPT_SLOTS:
        raise PresetError(f"it lists {len(doc.prompts)} prompts; DreamDeck has {PROMPT_SLOTS} prompt slots")
    values: dict[str, Any] = {}
    for i in range(1, PROMPT_SLOTS + 1):
        p = doc.prompts[i - 1] if i <= len(doc.prompts) else None
        values[f"prompt.{i}.text"] = p.text if p else ""
        values[f"prompt.{i}.weight"] = p.weight if p else 0.0
    clash = sorted(set(values) & set(doc.params))
    if doc.prompts and clash:
        raise PresetError(f"it sets {', '.join(clash)} both in 'prompts' and in 'params'")
    if not doc.prompts:  # no prompt list at all: the preset did not touch the prompts
        values = {}
    values.update(doc.params)
    return {"schema_version": 2, "name": doc.name, "description": doc.comment, "values": values}


# version -> (model of that version, function to the next version's raw dict)
MIGRATIONS: dict[int, tuple[type[BaseModel], Callable[[Any], dict]]] = {
    1: (PresetDocumentV1, migrate_v1_to_v2),
}


def _summary(e: ValidationError, limit: int = 3) -> str:
    parts = []
    for err in e.errors()[:limit]:
        where = ".".join(str(x) for x in err["loc"]) or "document"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        parts.append(f"{where}: {msg}")
    more = len(e.errors()) - limit
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")


def read_document(raw: object) -> PresetDocument:
    """Validate a parsed JSON document of any known version and migrate it to the current one.

    Raises PresetError (without the preset's name; the caller adds it)."""
    if not isinstance(raw, dict):
        raise PresetError(f"it is not a JSON object but {type(raw).__name__}")
    version = raw.get("schema_version")
    if isinstance(version, bool) or not isinstance(version, int):
        raise PresetError("it has no whole-number 'schema_version' field")
    if version > CURRENT_VERSION:
        raise PresetError(
            f"it was written by a newer DreamDeck (schema_version {version}; this version reads up to {CURRENT_VERSION})"
            " - update DreamDeck to use it"
        )
    if version < CURRENT_VERSION and version not in MIGRATIONS:
        raise PresetError(f"schema_version {version} is not a version DreamDeck ever wrote")
    doc: Any = raw
    try:
        while version < CURRENT_VERSION:
            model, step = MIGRATIONS[version]
            try:
                old = model.model_validate(doc)
            except ValidationError as e:
                raise PresetError(f"it is not a valid version {version} preset: {_summary(e)}") from None
            try:
                doc = step(old)
            except PresetError as e:
                raise PresetError(f"it cannot be migrated from version {version}: {e}") from None
            version += 1
        return PresetDocument.model_validate(doc)
    except ValidationError as e:
        raise PresetError(f"it is not a valid preset: {_summary(e)}") from None


def check_values(values: Mapping[str, Any], params: Mapping[str, Param]) -> dict[str, Any]:
    """Every value checked by its parameter's declaration; all problems in one message.

    Returns the values coerced by ``Param.validate`` (e.g. 1 -> 1.0 for a float), in
    the registry's declaration order."""
    unknown = sorted(n for n in values if n not in params)
    problems = []
    if unknown:
        problems.append(f"unknown parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}")
    not_look = sorted(
        n for n in values if n in params and (params[n].kind is Kind.TRIGGER or params[n].group in SHOW_SETTING_GROUPS)
    )
    if not_look:
        problems.append(f"{', '.join(not_look)} {'is' if len(not_look) == 1 else 'are'} not part of a look (triggers, tempo and preset settings)")
    clean: dict[str, Any] = {}
    for name, p in params.items():
        if name in values and name not in not_look:
            try:
                clean[name] = p.validate(values[name])
            except ParamError as e:
                problems.append(str(e))
    if problems:
        raise PresetError("; ".join(problems))
    return clean
