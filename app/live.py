"""``dreamdeck live``: a source through the model to the virtual camera and/or a recording."""

from __future__ import annotations

import signal
import sys
import threading
import time

from .errors import UserError


def add_live_arguments(p) -> None:
    g = p.add_argument_group("live")
    from engine.sinks.virtual_camera import BUILTIN_BACKENDS
    from engine.sources import SPEC_HELP

    g.add_argument("--source", default="pattern", help=f"{SPEC_HELP} (default %(default)s)")
    g.add_argument("--vcam", action="store_true", help="send the output to the virtual camera (OBS, Zoom, Resolume)")
    g.add_argument("--vcam-device", default=None, help="virtual camera device, e.g. /dev/video10")
    g.add_argument("--vcam-backend", default="auto", help=" | ".join(("auto", *BUILTIN_BACKENDS)))
    g.add_argument("--record", default=None, metavar="PATH", help="also record the output to a video file")
    g.add_argument("--duration", type=float, default=None, metavar="SECONDS", help="stop after this long (default: until Ctrl-C)")
    from .flags import OUTPUT, add_flags

    add_flags(g, OUTPUT)
    from .presets.commands import add_live_preset_argument

    add_live_preset_argument(g)
    from .osc.service import add_osc_arguments

    add_osc_arguments(p)
    from .midi.commands import add_midi_arguments

    add_midi_arguments(p)
    au = p.add_argument_group("audio (binaural, through PortAudio)")
    au.add_argument("--audio-in", default=None, metavar="DEVICE|FILE|source",
                    help="place this sound around the listener's head: a sound file (looped), an input device "
                         "(name, part of it, or number), or 'source': the sound of the video file on air, heard when "
                         "its pictures are shown; turns the audio engine on")
    au.add_argument("--audio-out", default=None, metavar="DEVICE",
                    help="audio output: a device name, part of it or number, a virtual cable (VB-Cable, BlackHole) "
                         "or a PulseAudio sink; default: the system's output")
    from .flags import AUDIO

    add_flags(au, AUDIO)


def status_line(m, elapsed: float, model: str = "") -> str:
    """One line of the pipeline's status (engine.live LiveStatus) for the terminal."""
    lat = "-" if m.latency_ms is None else f"{m.latency_ms:.0f} ms"
    sinks = ", ".join(f"{k} {v.split(':')[0]}" for k, v in m.sinks.items()) or "none"
    gpu = f" gpu {m.gpu_util_percent or 0:.0f}% {m.gpu_power_w:.0f} W" if m.gpu_power_w is not None else ""
    wd = " WATCHDOG" if m.watchdog else ""
    au = m.audio
    if au is not None:
        fb = " (fallback)" if au.fallback_reason else ""
        wd += (f"  audio {au.renderer}{fb} {au.device_status.split(':')[0]} buffer {au.buffer_ms:.0f} ms "
               f"xruns {au.xruns} underruns {au.underruns}")
    if m.source_problem:  # named the second it happens, not after the summary
        wd += f"  SOURCE {m.source}: {m.source_problem}"
    head = f"{elapsed:5.0f}s  " + (f"{model}  " if model else "")
    return (f"{head}in {m.input_fps:4.1f}  gen {m.generate_fps:4.1f}  out {m.output_fps:4.1f} fps  "
            f"latency {lat}  dropped {m.dropped_input}  repeated {m.repeated_output}  skip {m.skip_rate * 100:.0f}%  "
            f"cpu {m.cpu_percent:.0f}%{gpu}  sinks: {sinks}{wd}")


def cmd_live(a) -> int:
    """A thin loop over one :class:`app.session.ShowSession`: build it from the flags, start it, print its
    status once a second, stop it."""
    from .flags import build_store, frame_text
    from .loading import print_load_warning
    from .presets.commands import apply_live_preset
    from .session import ShowSession, config_from_args

    if a.duration is not None and a.duration <= 0:
        raise UserError(f"--duration must be above 0 seconds; got {a.duration}")
    store = build_store(a)
    apply_live_preset(store, a)  # --preset NAME: checked and applied before anything starts
    # every option is checked (source, outputs, OSC, MIDI, audio) before anything starts
    session = ShowSession(store, config_from_args(a, a.source))
    stop = threading.Event()
    old = signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"live: {a.source} -> model {a.model!r} at {frame_text(store.snapshot().values)} -> {a.out_size} @ {a.fps} fps"
          f"{' -> virtual camera' if a.vcam else ''}{' -> ' + a.record if a.record else ''}; Ctrl-C stops", flush=True)
    recorded_before = _mtime(a.record)  # a file left by an earlier run is not this run's recording
    t0 = time.monotonic()
    failed: str | None = None
    try:
        # every surface serves from its first line on: the model loads behind them
        for line in session.start():
            print(line, flush=True)
        announced = 0
        while not stop.wait(1.0):
            elapsed = time.monotonic() - t0
            status = session.status()
            state = status.model
            if state.loads > announced:
                announced = state.loads
                for w in state.warnings:
                    print_load_warning(w)
                if state.error and state.running is None:
                    failed = f"model {state.attempted!r}: {state.error}"
                    break
                if state.error:
                    print(f"dreamdeck: warning: model {state.attempted!r} did not load: {state.error}; "
                          f"{state.running} goes on", file=sys.stderr, flush=True)
                else:
                    print(f"model: {state.running} ready in {state.load_s:.1f} s", flush=True)
            print(status_line(status.pipeline, elapsed, state.describe()), flush=True)
            if a.duration is not None and elapsed >= a.duration:
                break
    finally:
        session.stop(5.0)
        signal.signal(signal.SIGINT, old)
    if failed:
        raise UserError(failed)
    return _summary(a, session.status().pipeline, time.monotonic() - t0, recorded_before)


def _mtime(path: str | None) -> float | None:
    from pathlib import Path

    try:
        return Path(path).expanduser().stat().st_mtime_ns if path else None
    except OSError:
        return None


def _summary(a, m, elapsed: float, recorded_before: float | None = None) -> int:
    """The closing lines; non-zero when the run produced nothing it was asked for."""
    from pathlib import Path

    lat = "-" if m.latency_ms is None else f"{m.latency_ms:.0f} ms"
    print(f"summary: {m.frames_out} frames out in {elapsed:.1f} s ({m.frames_out / elapsed:.1f} fps), "
          f"{m.frames_generated} generated, latency {lat}, dropped {m.dropped_input}, repeated {m.repeated_output}, "
          f"skip rate {m.skip_rate * 100:.0f}%")
    au = m.audio
    if au is not None:
        print(f"audio: {au.seconds_rendered:.1f} s rendered with {au.renderer}, xruns {au.xruns}, "
              f"underruns {au.underruns}, device reopened {au.reopened} times"
              + (f"; {au.fallback_reason}" if au.fallback_reason else ""))
    for f in m.faults[-5:]:
        print(f"fault: {f}")
    rc = 0
    if a.record:
        if _mtime(a.record) not in (None, recorded_before):
            print(f"recorded {a.record}")
        else:
            status = m.sinks.get(f"recorder:{Path(a.record).name}", "")
            print(f"dreamdeck: error: nothing was recorded to {a.record}" + (f" ({status})" if status else ""), file=sys.stderr)
            rc = 1
    if m.frames_in == 0:
        why = m.source_problem or "it opened but gave no frame"
        print(f"dreamdeck: error: the source {a.source} never delivered a frame: {why}", file=sys.stderr)
        rc = 1
    return rc
