"""Command-line flags made from the parameter registry.

One table (:data:`FLAGS`) says which parameters are flags and under which names; the
type, default, choices, range and help of each come from the parameter's declaration
in ``engine.params.catalog``.  Every flag's argparse default is ``None`` ("not given"),
so the registry's default applies and a preset (``--preset NAME``) can tell what the
user typed.  ``render``, ``demo``, ``gui``, ``live`` and ``preset save`` use it alike.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from engine.params.registry import Kind, Param, ParamError

from .errors import UserError


@dataclass(frozen=True)
class Flag:
    param: str  # the registry parameter it sets
    flag: str  # e.g. "--strength"
    inverted: bool = False  # "--no-tiny-vae": giving the flag turns the (on by default) parameter off

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


MODEL = (Flag("model", "--model"), Flag("size", "--size"), Flag("tiny_vae", "--no-tiny-vae", inverted=True))
DIFFUSION = (
    Flag("prompt.1.text", "--prompt"),
    Flag("negative_prompt", "--negative-prompt"),
    Flag("steps", "--steps"),
    Flag("strength", "--strength"),
    Flag("guidance", "--guidance"),
    Flag("guidance_scale", "--guidance-scale"),
    Flag("delta", "--delta"),
    Flag("seed.1.value", "--seed"),
    Flag("frame_buffer_size", "--frame-buffer-size"),
)
OUTPUT = (Flag("output_size", "--out-size"), Flag("output_fps", "--fps"), Flag("similarity_filter", "--similarity-filter"),
          Flag("accel", "--accel"), Flag("record_codec", "--codec"))
RECORD = (Flag("record_codec", "--codec"),)  # render and demo: the file's codec (live takes it with OUTPUT)
AUDIO = (Flag("audio_renderer", "--audio-renderer"),)
FLAGS: tuple[Flag, ...] = MODEL + DIFFUSION + OUTPUT + AUDIO
# what `dreamdeck preset save NAME --...` can set directly (anything else: --set PARAM=VALUE)
SAVE = tuple(f for f in FLAGS if f.param in ("prompt.1.text", "negative_prompt", "strength", "guidance", "guidance_scale",
                                             "delta", "seed.1.value", "steps", "size", "model"))
TINY_SIZE = "256"  # the built-in random model runs smoothly on a newcomer's CPU at this size
STYLES_SIZE = "384"  # the built-in style network: smooth live on a 2-core CPU (see README, speed)
# what a command with the family-size rule (gui, live, demo) uses for the built-in models when nothing asked otherwise
FAMILY_DEFAULTS: Mapping[str, Mapping[str, Any]] = {"tiny": {"size": TINY_SIZE}, "styles": {"size": STYLES_SIZE, "strength": 1.0}}


def _params() -> Mapping[str, Param]:
    from engine.params.catalog import engine_store

    return engine_store().params


def default_text(p: Param) -> str:
    if p.kind is Kind.BOOL:
        return "on" if p.default else "off"
    if p.kind is Kind.STR:
        return repr(p.default) if p.default else "empty"
    return f"{p.default:g}" if isinstance(p.default, float) else str(p.default)


def range_text(p: Param) -> str:
    if p.kind is Kind.INT and p.minimum is not None and p.maximum is not None:
        return f"{int(p.minimum)}..{int(p.maximum)}" + (f" {p.unit}" if p.unit else "")
    return p.range_text()


def help_text(p: Param, f: Flag, note: str = "") -> str:
    """The parameter's description, range and default, as the registry declares them."""
    if p.kind is Kind.BOOL:
        what = f"turn off: {p.description[0].lower()}{p.description[1:]}" if f.inverted else p.description
        return f"{what} (default {default_text(p)})"
    rng = "" if p.kind in (Kind.STR, Kind.CHOICE) else range_text(p) + (f", multiples of {p.multiple_of}" if p.multiple_of else "")
    extra = "; ".join(x for x in (rng, f"default {default_text(p)}" + (f", {note}" if note else "")) if x)
    return f"{p.description} ({extra})".replace("%", "%%")


def add_flag(group, f: Flag, p: Param, note: str = "") -> None:
    kw: dict[str, Any] = {"default": None, "dest": f.dest, "help": help_text(p, f, note)}
    if p.kind is Kind.BOOL:
        kw.update(action="store_const", const=True)  # the flag's own sense: --no-tiny-vae given is True
    elif p.kind is Kind.CHOICE:
        kw.update(choices=p.choices)
    elif p.kind is Kind.INT:
        kw.update(type=int, metavar="N")
    elif p.kind is Kind.FLOAT:
        kw.update(type=float, metavar="X")
    else:
        kw.update(metavar="TEXT" if p.name != "model" else "MODEL")
    group.add_argument(f.flag, **kw)


def add_flags(group, flags: Iterable[Flag], notes: Mapping[str, str] | None = None) -> None:
    params = _params()
    for f in flags:
        add_flag(group, f, params[f.param], (notes or {}).get(f.param, ""))


def given(a: argparse.Namespace, flags: Iterable[Flag] = FLAGS) -> dict[str, Any]:
    """parameter -> value for every flag of the table that this command has and the user typed
    (still known after :func:`show_in` filled in the rest)."""
    typed = getattr(a, "typed_params", None)
    out = {}
    for f in flags:
        v = getattr(a, f.dest, None)
        if v is not None and (typed is None or f.param in typed):
            out[f.param] = (not v) if f.inverted else v
    return out


def show_in(a: argparse.Namespace, store, flags: Iterable[Flag] = FLAGS) -> None:
    """Write the store's values back into the namespace's flags (so ``a.model`` is what will run);
    ``a.typed_params`` keeps which ones the user typed."""
    if getattr(a, "typed_params", None) is None:
        a.typed_params = frozenset(given(a, flags))
    for f in flags:
        if hasattr(a, f.dest):
            v = store.get(f.param)
            setattr(a, f.dest, (not v) if f.inverted else v)


def flag_error(f: Flag, p: Param, value: Any, e: ParamError) -> str:
    """One line naming the flag and what it takes, from the parameter's declaration."""
    if p.kind in (Kind.INT, Kind.FLOAT) and p.minimum is not None and p.maximum is not None:
        lo, hi = (int(p.minimum), int(p.maximum)) if p.kind is Kind.INT else (f"{p.minimum:g}", f"{p.maximum:g}")
        step = f"multiples of {p.multiple_of} " if p.multiple_of else ""
        return f"{f.flag} takes {step}from {lo} to {hi}{' ' + p.unit if p.unit else ''}; got {value}"
    return f"{f.flag}: {e}"


def build_store(a: argparse.Namespace):
    """A parameter store holding the registry's defaults and the flags the user gave, each checked by the registry;
    the namespace then shows the values that will run."""
    from engine.params.catalog import engine_store

    store = engine_store()
    values = given(a)
    for f in FLAGS:  # each flag checked alone, so the message names the flag the user typed
        if f.param in values:
            try:
                store.spec(f.param).validate(values[f.param])
            except ParamError as e:
                raise UserError(flag_error(f, store.spec(f.param), values[f.param], e)) from None
    store.update(values)
    settle_size(a, store)
    return store


def frame_text(values: Mapping[str, Any]) -> str:
    """The model's frame for a status line, e.g. "384x216 px" (or the size as given when the model cannot take it)."""
    from engine.model_family import frame_for

    try:
        return "{}x{} px".format(*frame_for(values))
    except ValueError:
        return f"size {values['size']}"


def family_default(model: str, name: str, store) -> Any:
    """``name``'s default for ``model``'s family: the built-in models' own (FAMILY_DEFAULTS), else the registry's."""
    return FAMILY_DEFAULTS.get(str(model).strip().lower(), {}).get(name, store.spec(name).default)


def settle_size(a: argparse.Namespace, store, preset_values: Mapping[str, Any] = ()) -> None:
    """Without --size (or --strength, or a preset's value), a command with the family-size rule runs the built-in
    models at their own defaults (tiny 256 px; styles 384 px, fully painted) and any other model at the registry's;
    called again once a preset has named the model."""
    if getattr(a, "tiny_size_rule", False):
        typed = given(a)
        for name in ("size", "strength"):
            if name not in typed and name not in preset_values:
                store.set(name, family_default(store.get("model"), name, store))
    show_in(a, store)


# -- model options that are not parameters (how the model is loaded) ------------------------------
def _lora(text: str) -> tuple[str, float]:
    path, sep, scale = text.rpartition(":")
    if sep and path and not (len(path) == 1 and path.isalpha()):  # keep C:\... paths whole
        try:
            return path, float(scale)
        except ValueError:
            pass
    return text, 1.0


def _t_index(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError("use comma-separated step indices, e.g. 32,45") from None


def add_model_options(p: argparse.ArgumentParser, tiny_size: bool = False) -> None:
    """The model and diffusion flags (from the registry) plus the load options that are not parameters.
    ``tiny_size``: without --size the built-in tiny model runs at 256 px (said in --size's help)."""
    g = p.add_argument_group("model")
    add_flags(g, MODEL, {"size": f"{STYLES_SIZE} for the built-in styles, {TINY_SIZE} for tiny"} if tiny_size else None)
    g.add_argument("--no-lcm-lora", action="store_true", help="do not add LCM-LoRA to non-turbo SD 1.5 / SDXL models")
    g.add_argument("--lora", action="append", default=[], type=_lora, metavar="PATH[:SCALE]", help="add a LoRA (repeatable)")
    d = p.add_argument_group("diffusion")
    add_flags(d, DIFFUSION, {"strength": "1 for the built-in styles"} if tiny_size else None)
    if tiny_size:
        p.set_defaults(tiny_size_rule=True)
    d.add_argument("--t-index", type=_t_index, default=None, help="explicit indices into the 50-step LCM schedule (overrides --strength)")
