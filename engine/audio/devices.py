"""Audio devices: list them, choose one by name or number, say why one is missing.

A device is chosen by its index, or by a case-insensitive piece of its name
("VB-Cable", "BlackHole", "USB"). Virtual cables (VB-Audio Cable, BlackHole,
Soundflower, Loopback, PulseAudio null sinks) are ordinary devices to
PortAudio; they are marked ``virtual`` in the listing so a user can spot them.

On Linux, PortAudio reaches PulseAudio through ALSA's ``pulse`` device, which
does not list the server's sinks and sources one by one. A name that matches
no PortAudio device but matches a PulseAudio sink (``dd_out``) or source
(``dd_out.monitor``) therefore selects the ``pulse`` device and points
libpulse at that sink or source through ``PULSE_SINK`` / ``PULSE_SOURCE``.

sounddevice is imported lazily: without libportaudio2 the engine still imports,
and the error says what to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

VIRTUAL_HINTS = ("vb-cable", "vb-audio", "cable input", "cable output", "blackhole", "soundflower",
                 "loopback", "null", "monitor", "virtual", "voicemeeter", "jack")


class AudioDeviceError(RuntimeError):
    """No usable audio device; the message says what to do."""


def sounddevice():
    """The sounddevice module, or an error naming the package to install."""
    try:
        import sounddevice as sd
    except OSError as e:  # the module is there, the PortAudio library is not
        raise AudioDeviceError(f"PortAudio is not installed ({e}): install libportaudio2 (Debian/Ubuntu) or portaudio (Homebrew)") from None
    except ImportError:
        raise AudioDeviceError("the sounddevice package is missing: pip install sounddevice") from None
    return sd


@dataclass(frozen=True)
class AudioDevice:
    index: int
    name: str
    hostapi: str
    inputs: int
    outputs: int
    default_samplerate: float
    is_default_input: bool = False
    is_default_output: bool = False

    @property
    def virtual(self) -> bool:
        n = self.name.lower()
        return any(h in n for h in VIRTUAL_HINTS)

    def describe(self) -> str:
        tags = [t for t, on in (("default in", self.is_default_input), ("default out", self.is_default_output), ("virtual", self.virtual)) if on]
        return (f"{self.index:3d}  {self.name} ({self.hostapi}, {self.inputs} in, {self.outputs} out)"
                + (f"  [{', '.join(tags)}]" if tags else ""))


def refresh() -> None:
    """Make PortAudio look for devices again (it lists them once, when it starts).

    This closes every PortAudio stream of the process: call it only with none open.
    """
    sd = sounddevice()
    terminate, initialize = getattr(sd, "_terminate", None), getattr(sd, "_initialize", None)
    if terminate is None or initialize is None:
        return
    try:
        terminate()
    except Exception:
        pass
    initialize()


def list_devices() -> list[AudioDevice]:
    sd = sounddevice()
    try:
        raw = sd.query_devices()
        apis = sd.query_hostapis()
    except Exception as e:
        raise AudioDeviceError(f"PortAudio cannot list audio devices: {e}") from None
    d_in, d_out = _defaults(sd)
    out = []
    for i, d in enumerate(raw):
        out.append(AudioDevice(i, d["name"], apis[d["hostapi"]]["name"], int(d["max_input_channels"]),
                               int(d["max_output_channels"]), float(d["default_samplerate"]), i == d_in, i == d_out))
    return out


def _defaults(sd) -> tuple[int, int]:
    try:
        d = sd.default.device
        return int(d[0]), int(d[1])
    except Exception:
        return -1, -1


def pulse_endpoints(kind: str) -> list[str]:
    """Names of the PulseAudio sinks (kind 'output') or sources ('input') the server offers; [] without one."""
    if shutil.which("pactl") is None:
        return []
    what = "sinks" if kind == "output" else "sources"
    try:
        r = subprocess.run(["pactl", "list", "short", what], capture_output=True, text=True, timeout=3)
    except (OSError, subprocess.SubprocessError):
        return []
    if r.returncode != 0:
        return []
    return [line.split("\t")[1] for line in r.stdout.splitlines() if line.count("\t") >= 1]


@dataclass(frozen=True)
class DeviceChoice:
    """What to pass to PortAudio (``device``: index or None for the default) and how to name it."""

    device: int | None
    label: str
    pulse_name: str | None = None  # set PULSE_SINK / PULSE_SOURCE to this before opening

    def apply_env(self, kind: str) -> None:
        if self.pulse_name:
            os.environ["PULSE_SINK" if kind == "output" else "PULSE_SOURCE"] = self.pulse_name


def choose_device(spec: str | int | None, kind: str = "output") -> DeviceChoice:
    """Resolve a user's device choice (None/'' / 'default', an index, or part of a name)."""
    if kind not in ("input", "output"):
        raise ValueError(f"kind is 'input' or 'output', not {kind!r}")
    devices = list_devices()
    usable = [d for d in devices if (d.outputs if kind == "output" else d.inputs) > 0]
    if spec is None or (isinstance(spec, str) and spec.strip().lower() in ("", "default")):
        default = next((d for d in usable if (d.is_default_output if kind == "output" else d.is_default_input)), None)
        if default is None:
            if usable:
                return DeviceChoice(usable[0].index, usable[0].name)
            raise AudioDeviceError(f"there is no audio {kind} device: {_hint(kind)}")
        return DeviceChoice(None, default.name)
    if isinstance(spec, int) or (isinstance(spec, str) and spec.strip().isdigit()):
        i = int(spec)
        d = next((d for d in usable if d.index == i), None)
        if d is None:
            raise AudioDeviceError(f"there is no audio {kind} device number {i}; {kind}s:\n{_listing(usable, kind)}")
        return DeviceChoice(d.index, d.name)
    want = str(spec).strip().lower()
    exact = [d for d in usable if d.name.lower() == want]
    matches = exact or [d for d in usable if want in d.name.lower()]
    if len(matches) == 1 or (matches and len({m.name for m in matches}) == 1):
        return DeviceChoice(matches[0].index, matches[0].name)
    if len(matches) > 1:
        raise AudioDeviceError(f"{spec!r} matches several audio {kind}s; give more of the name or the number:\n{_listing(matches, kind)}")
    pulse = next((d for d in usable if d.name.lower() == "pulse"), None)
    if pulse is not None:
        names = pulse_endpoints(kind)
        hit = [n for n in names if n.lower() == want] or [n for n in names if want in n.lower()]
        if len(hit) == 1:
            return DeviceChoice(pulse.index, f"pulse:{hit[0]}", pulse_name=hit[0])
    raise AudioDeviceError(f"no audio {kind} matches {spec!r}; {kind}s:\n{_listing(usable, kind)}")


def _listing(devices: list[AudioDevice], kind: str) -> str:
    if not devices:
        return f"  (none: {_hint(kind)})"
    return "\n".join("  " + d.describe() for d in devices)


def _hint(kind: str) -> str:
    return ("is a sound server running? On Linux start PulseAudio/PipeWire; for a virtual cable install "
            "VB-Cable (Windows), BlackHole (macOS) or load a PulseAudio null sink "
            "(pactl load-module module-null-sink sink_name=dreamdeck)")
