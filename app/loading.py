"""Loading a model from the command line: progress on one rewritten line, warnings and errors as one line each.

``render`` and ``demo`` load here and wait; ``live`` and the console load through the show session's
model host in the background, and report its warnings with :func:`print_load_warning`.
"""

from __future__ import annotations

import argparse
import sys

from .errors import UserError
from .flags import build_store


def load_options(a: argparse.Namespace) -> dict:
    """The model-load keyword arguments the command line asks for (engine.diffusion.model_loader.load_model)."""
    return {"tiny_vae": not getattr(a, "no_tiny_vae", False), "lcm_lora": not getattr(a, "no_lcm_lora", False),
            "loras": getattr(a, "lora", None) or []}


def size_error(e: ValueError) -> UserError:
    """A refused ``size`` (engine.frame_size's one line) as the user's error, naming the flag."""
    msg = str(e)
    return UserError("--" + msg if msg.startswith("size ") else msg)


def settings_from_args(a: argparse.Namespace, output_size: str | None = None):
    """The stage settings the command line asks for (the diffusion stream's, or the style network's for
    ``--model styles``).  The model's frame is ``--size`` shaped like the output: ``output_size``
    ("WIDTHxHEIGHT", e.g. an input file's own size for ``render``) where given, else the registry's
    ``output_size``.  A value the model cannot take (a size, a style) is a UserError."""
    from engine.model_family import is_styles

    store = build_store(a)
    values = dict(store.snapshot().values)
    if output_size is not None:
        values["output_size"] = output_size
    if "strength" not in (getattr(a, "typed_params", None) or ()) and not getattr(a, "preset", None):
        from .flags import family_default  # e.g. render on styles paints fully unless --strength says otherwise

        values["strength"] = family_default(values["model"], "strength", store)
    try:
        if is_styles(values["model"]):
            from engine.styles.catalog import parse_slot
            from engine.styles.stream import StyleSettings

            settings = StyleSettings.from_values(values)
            for text, _ in settings.prompts:
                parse_slot(text)  # an unknown style is said before the load, as a bad size is
            return settings
        from engine.diffusion.stream import StreamSettings

        return StreamSettings.from_values(values, t_index_list=a.t_index)
    except ValueError as e:
        raise size_error(e) from None


EXTRA_FLAGS = {"tiny_vae": "--no-tiny-vae", "lcm_lora": "--no-lcm-lora"}  # load_model option -> the flag that turns it off


def print_load_warning(warning) -> None:
    """One line on stderr for an extra a model load went on without, naming the flag that silences it."""
    flag = EXTRA_FLAGS.get(warning.option)
    hint = f", or pass {flag} to silence this" if flag else ""
    print(f"dreamdeck: warning: {warning.text}{hint}", file=sys.stderr, flush=True)


def load_bundle(a: argparse.Namespace, quiet: bool = False):
    from engine.diffusion.model_sources import ModelLoadError
    from engine.model_family import load_any

    live = not quiet and sys.stderr.isatty()  # logs and pipes get only results and errors

    def progress(stage: str, fraction: float) -> None:
        if live:  # one line, rewritten in place: stages and download progress
            sys.stderr.write(f"\r  [{fraction * 100:3.0f}%] {stage}"[:110].ljust(110))
            sys.stderr.flush()

    def warn(warning) -> None:  # an optional extra skipped (offline, not cached): one line, and the flag that silences it
        if live:  # the warning takes the progress line's place; the next stage starts a new one
            sys.stderr.write("\r" + " " * 110 + "\r")
        print_load_warning(warning)

    try:
        bundle = load_any(a.model, tiny_vae=not a.no_tiny_vae, lcm_lora=not a.no_lcm_lora, loras=a.lora,
                          progress=progress, warn=warn)
    except ModelLoadError as e:
        if live:  # the error replaces the progress line
            sys.stderr.write("\r" + " " * 110 + "\r")
        raise UserError(str(e)) from None
    if live:
        sys.stderr.write("\n")
    return bundle


SEED_LIKE = {"seed.1.value", "steps", "guidance", "guidance_scale", "delta", "negative_prompt"}  # no effect on styles


def load_stream(a: argparse.Namespace, quiet: bool = False, output_size: str | None = None):
    """The live stage ``a`` asks for (a diffusion stream, or the style network's), its frame shaped like
    ``output_size`` (see :func:`settings_from_args`); every value is checked before the (slow) model load."""
    from engine.diffusion.stream import DiffusionStream
    from engine.styles.stream import IGNORED, StyleSettings, StyleStream

    settings = settings_from_args(a, output_size)
    bundle = load_bundle(a, quiet)
    try:
        if isinstance(settings, StyleSettings):
            if not quiet and SEED_LIKE & set(getattr(a, "typed_params", None) or ()):
                print(f"dreamdeck: note: {IGNORED}", file=sys.stderr, flush=True)  # said, not silently dropped
            stream = StyleStream(bundle, settings)
            if stream.last_error:  # e.g. a painting that cannot be read: a command says so and stops
                raise UserError(stream.last_error.split("; painting style")[0])
            return stream
        return DiffusionStream(bundle, settings)
    except ValueError as e:
        raise UserError(str(e)) from None
