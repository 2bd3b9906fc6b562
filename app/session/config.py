"""What a show session is asked to run, checked before anything starts; built from the command line
by :func:`config_from_args` (``dreamdeck live`` and ``dreamdeck gui`` share it)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from .errors import SessionError


@dataclass
class SessionConfig:
    source: str = "pattern"  # a source spec (engine.sources.SPEC_HELP)
    sinks: tuple[str, ...] = ()  # vcam[:BACKEND[:DEVICE]], record:PATH
    preview: bool = False  # a preview tap for a window (the console)
    t_index: tuple[int, ...] | None = None  # explicit steps of the 50-step schedule (overrides strength)
    load_options: dict = field(default_factory=dict)  # load_model keyword arguments (tiny_vae, lcm_lora, loras)
    osc: dict | None = None  # osc_port (0: no server), osc_host, osc_feedback, osc_allow; None: OSC off
    midi_port: str | None = None  # "" the first port, a name or part of one; None: MIDI off until chosen
    midi_virtual: bool = False
    midi_api: str | None = None
    midi_map: str | None = None  # a mappings file used as is (never saved over)
    midi_data_dir: str | None = None  # where the shared midi_mappings.json lives (default: the data folder)
    midi_client: str | None = None  # the MIDI client's name (default DreamDeck's)
    audio_in: str | None = None  # a device or a sound file; None with audio_out None: audio off
    audio_out: str | None = None
    show_file: str | None = None  # the show file (app.session.persist): restored at start, kept up to date; None: off
    fresh: bool = False  # start from the defaults instead of the show file's values (which the new show then replaces)
    keep: frozenset = frozenset()  # parameters the command line set: a restored show does not change them

    def midi_options(self) -> dict[str, Any]:
        return {"api": self.midi_api, "mapping_file": self.midi_map, "data_dir": self.midi_data_dir,
                "client_name": self.midi_client}

    def audio_input(self):
        """(input spec, output) to start with the show, checked now; None when audio stays off."""
        if self.audio_in is None and self.audio_out is None:
            return None
        from .audio import check_audio

        check_audio(self.audio_in, self.audio_out)
        return self.audio_in, self.audio_out


def config_from_args(a: argparse.Namespace, source: str, preview: bool = False) -> SessionConfig:
    """The session options of ``live`` / ``gui`` flags, each checked here (one line on a bad one)."""
    from pathlib import Path

    sinks = []
    if getattr(a, "record", None):
        sinks.append(f"record:{a.record}")
    if getattr(a, "vcam", False):
        sinks.append(f"vcam:{a.vcam_backend or 'auto'}:{a.vcam_device or ''}")
    osc = {k: getattr(a, k, None) for k in ("osc_port", "osc_host", "osc_feedback", "osc_allow")}  # port 0: no server
    midi_port = getattr(a, "midi", None)
    if midi_port is not None or getattr(a, "midi_virtual", False):
        try:
            import mido  # noqa: F401
            import rtmidi  # noqa: F401
        except ImportError:
            from ..midi.errors import INSTALL_HINT

            raise SessionError(INSTALL_HINT) from None
    midi_map = getattr(a, "midi_map", None)
    if midi_map and not Path(midi_map).is_file():
        raise SessionError(f"--midi-map: no such file: {midi_map}")
    from ..loading import load_options

    return SessionConfig(source=source, sinks=tuple(sinks), preview=preview, t_index=getattr(a, "t_index", None),
                         load_options=load_options(a), osc=osc, midi_port=midi_port,
                         midi_virtual=bool(getattr(a, "midi_virtual", False)), midi_api=getattr(a, "midi_api", None),
                         midi_map=midi_map, audio_in=getattr(a, "audio_in", None), audio_out=getattr(a, "audio_out", None))


def kept_params(a: argparse.Namespace, preset_values=()) -> frozenset:
    """The parameters a restored show leaves alone: the flags the user typed and the values of ``--preset``; a model
    named there keeps its size and strength too (what the family rule chose for it, not the last model's)."""
    keep = set(getattr(a, "typed_params", None) or ()) | set(preset_values)
    if "model" in keep:  # and what the family rule chose for it (app.flags.FAMILY_DEFAULTS)
        keep |= {"size", "strength"}
    return frozenset(keep)
