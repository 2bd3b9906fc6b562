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
    """The stream settings the command line asks for.  The model's frame is ``--size`` shaped like
    the output: ``output_size`` ("WIDTHxHEIGHT", e.g. an input file's own size for ``render``)
    where given, else the registry's ``output_size``.  A size the model cannot take is a UserError."""
    from engine.diffusion.stream import StreamSettings

    values = dict(build_store(a).snapshot().values)
    if output_size is not None:
        values["output_size"] = output_size
    try:
        return StreamSettings.from_values(values, t_index_list=a.t_index)
    except ValueError as e:  # the one value from_values checks is the size
        raise size_error(e) from None


EXTRA_FLAGS = {"tiny_vae": "--no-tiny-vae", "lcm_lora": "--no-lcm-lora"}  # load_model option -> the flag that turns it off


def print_load_warning(warning) -> None:
    """One line on stderr for an extra a model load went on without, naming the flag that silences it."""
    flag = EXTRA_FLAGS.get(warning.option)
    hint = f", or pass {flag} to silence this" if flag else ""
    print(f"dreamdeck: warning: {warning.text}{hint}", file=sys.stderr, flush=True)


def load_bundle(a: argparse.Namespace, quiet: bool = False):
    from engine.diffusion.model_loader import ModelLoadError, load_model

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
        bundle = load_model(a.model, tiny_vae=not a.no_tiny_vae, lcm_lora=not a.no_lcm_lora, loras=a.lora,
                            progress=progress, warn=warn)
    except ModelLoadError as e:
        if live:  # the error replaces the progress line
            sys.stderr.write("\r" + " " * 110 + "\r")
        raise UserError(str(e)) from None
    if live:
        sys.stderr.write("\n")
    return bundle


def load_stream(a: argparse.Namespace, quiet: bool = False, output_size: str | None = None):
    """The stream ``a`` asks for, its frame shaped like ``output_size`` (see :func:`settings_from_args`);
    every value is checked by the registry before the (slow) model load."""
    from engine.diffusion.stream import DiffusionStream

    settings = settings_from_args(a, output_size)
    bundle = load_bundle(a, quiet)
    try:
        return DiffusionStream(bundle, settings)
    except ValueError as e:
        raise UserError(str(e)) from None
