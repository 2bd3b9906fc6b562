"""``dreamdeck live``: a source through the model to the virtual camera and/or a recording."""

from __future__ import annotations

import signal
import threading
import time

from .errors import UserError


def add_live_arguments(p) -> None:
    g = p.add_argument_group("live")
    g.add_argument("--source", default="pattern", help="pattern | pattern:static | camera:N | file:PATH | screen[:L,T,W,H] | image:PATH")
    g.add_argument("--vcam", action="store_true", help="send the output to the virtual camera (OBS, Zoom, Resolume)")
    g.add_argument("--vcam-device", default=None, help="virtual camera device, e.g. /dev/video10")
    g.add_argument("--vcam-backend", default="auto", help="auto | obs | v4l2loopback | unitycapture")
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
    au.add_argument("--audio-in", default=None, metavar="DEVICE|FILE",
                    help="place this sound around the listener's head: a sound file (looped) or an input device "
                         "(name, part of it, or number); turns the audio engine on")
    au.add_argument("--audio-out", default=None, metavar="DEVICE",
                    help="audio output: a device name, part of it or number, a virtual cable (VB-Cable, BlackHole) "
                         "or a PulseAudio sink; default: the system's output")
    from .flags import AUDIO

    add_flags(au, AUDIO)


def status_line(m: dict, elapsed: float, model: str = "") -> str:
    lat = "-" if m["latency_ms"] is None else f"{m['latency_ms']:.0f} ms"
    sinks = ", ".join(f"{k} {v.split(':')[0]}" for k, v in m["sinks"].items()) or "none"
    gpu = f" gpu {m['gpu_util_percent']:.0f}% {m['gpu_power_w']:.0f} W" if "gpu_power_w" in m else ""
    wd = " WATCHDOG" if m["watchdog"] else ""
    au = m.get("audio") or {}
    if au:
        fb = " (fallback)" if au.get("fallback_reason") else ""
        wd += (f"  audio {au['renderer']}{fb} {au['device_status'].split(':')[0]} buffer {au['buffer_ms']:.0f} ms "
               f"xruns {au['xruns']} underruns {au['underruns']}")
    if m.get("source_problem"):  # named the second it happens, not after the summary
        wd += f"  SOURCE {m['source']}: {m['source_problem']}"
    head = f"{elapsed:5.0f}s  " + (f"{model}  " if model else "")
    return (f"{head}in {m['input_fps']:4.1f}  gen {m['generate_fps']:4.1f}  out {m['output_fps']:4.1f} fps  "
            f"latency {lat}  dropped {m['dropped_input']}  repeated {m['repeated_output']}  skip {m['skip_rate'] * 100:.0f}%  "
            f"cpu {m['cpu_percent']:.0f}%{gpu}  sinks: {sinks}{wd}")


def cmd_live(a) -> int:
    from engine.live.contracts import SourceError
    from engine.live.model_host import ModelHost, stream_generator
    from engine.live.pipeline import LivePipeline
    from engine.params import ParamError
    from engine.sinks.recorder import RecorderSink
    from engine.sources import make_source

    from .flags import build_store
    from .loading import load_options, print_load_warning

    if a.duration is not None and a.duration <= 0:
        raise UserError(f"--duration must be above 0 seconds; got {a.duration}")
    store = build_store(a)
    from .presets.commands import apply_live_preset

    apply_live_preset(store, a)  # --preset NAME: checked and applied before anything starts
    audio_in = _audio_input(a, store)
    from .midi.commands import midi_from_args
    from .osc.service import osc_from_args
    from .show_control import ShowControl

    show = ShowControl(store)  # presets (crossfaded, beat-quantised recall) and tap tempo for every surface
    osc = osc_from_args(a, store, show)  # checks --osc-*; binds at start
    midi = midi_from_args(a, store, show)  # checks --midi*; opens at start
    try:
        source = make_source(a.source)
    except SourceError as e:
        raise UserError(str(e)) from None
    sinks = []
    if a.record:
        from engine.media.files import MediaError, check_video_output

        try:
            check_video_output(a.record)  # as the writer will open it: extension and folder
        except MediaError as e:
            raise UserError(str(e)) from None
        sinks.append(RecorderSink(a.record))
    if a.vcam:
        from engine.sinks.virtual_camera import VirtualCameraSink, diagnose_virtual_camera

        problem = diagnose_virtual_camera(a.vcam_backend, a.vcam_device)
        if problem:
            raise UserError(problem)
        sinks.append(VirtualCameraSink(backend=a.vcam_backend, device=a.vcam_device))
    pipeline = LivePipeline(store, None, source)  # no model yet: the input shows until it is loaded
    for s in sinks:
        pipeline.add_sink(s)
    model = ModelHost(pipeline.set_generator, stream_generator(store, a.t_index), load_options(a))
    show.recaller.on_error = lambda message: pipeline.metrics.fault("preset recall", message)
    stop = threading.Event()
    old = signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"live: {a.source} -> model {a.model!r} at {a.size}px -> {a.out_size} @ {a.fps} fps"
          f"{' -> virtual camera' if a.vcam else ''}{' -> ' + a.record if a.record else ''}; Ctrl-C stops", flush=True)
    recorded_before = _mtime(a.record)  # a file left by an earlier run is not this run's recording
    t0 = time.monotonic()
    pipeline.start()
    audio = None
    failed: str | None = None
    try:
        # every surface serves from its first line on: the model loads behind them
        show.start()
        print(osc.start(), flush=True)
        midi_status = midi.start()
        if midi_status:
            print(midi_status, flush=True)
        model.load(a.model)
        if audio_in is not None:
            from engine.audio.live import AudioEngine

            audio = AudioEngine(store, audio_in, a.audio_out, metrics=pipeline.metrics)
            try:
                audio.start()
            except Exception as e:
                audio = None
                raise UserError(f"audio: {e}") from None
            print(f"audio: {audio_in.label} -> {audio.snapshot()['renderer']} renderer -> {audio.device_label}", flush=True)
        announced = 0
        while not stop.wait(1.0):
            elapsed = time.monotonic() - t0
            state = model.state()
            if state.loads > announced:
                announced = state.loads
                for w in state.warnings:
                    print_load_warning(w)
                if state.error and state.running is None:
                    failed = f"model {a.model!r}: {state.error}"
                    break
                print(f"model: {state.running} ready in {state.load_s:.1f} s", flush=True)
            print(status_line(pipeline.snapshot_metrics(), elapsed, state.describe()), flush=True)
            if a.duration is not None and elapsed >= a.duration:
                break
    finally:
        model.cancel()
        midi.stop()
        osc.stop()
        show.stop()
        if audio is not None:
            audio.stop()
        pipeline.stop()
        model.wait(5.0)
        signal.signal(signal.SIGINT, old)
    if failed:
        raise UserError(failed)
    return _summary(a, pipeline.snapshot_metrics(), time.monotonic() - t0, recorded_before)


def _mtime(path: str | None) -> float | None:
    from pathlib import Path

    try:
        return Path(path).expanduser().stat().st_mtime_ns if path else None
    except OSError:
        return None


def _summary(a, m: dict, elapsed: float, recorded_before: float | None = None) -> int:
    """The closing lines; non-zero when the run produced nothing it was asked for."""
    import sys
    from pathlib import Path

    lat = "-" if m["latency_ms"] is None else f"{m['latency_ms']:.0f} ms"
    print(f"summary: {m['frames_out']} frames out in {elapsed:.1f} s ({m['frames_out'] / elapsed:.1f} fps), "
          f"{m['frames_generated']} generated, latency {lat}, dropped {m['dropped_input']}, repeated {m['repeated_output']}, "
          f"skip rate {m['skip_rate'] * 100:.0f}%")
    au = m.get("audio") or {}
    if au:
        print(f"audio: {au['seconds_rendered']:.1f} s rendered with {au['renderer']}, xruns {au['xruns']}, "
              f"underruns {au['underruns']}, device reopened {au['reopened']} times"
              + (f"; {au['fallback_reason']}" if au.get("fallback_reason") else ""))
    for f in m["faults"][-5:]:
        print(f"fault: {f}")
    rc = 0
    if a.record:
        if _mtime(a.record) not in (None, recorded_before):
            print(f"recorded {a.record}")
        else:
            status = m["sinks"].get(f"recorder:{Path(a.record).name}", "")
            print(f"dreamdeck: error: nothing was recorded to {a.record}" + (f" ({status})" if status else ""), file=sys.stderr)
            rc = 1
    if m["frames_in"] == 0:
        why = m.get("source_problem") or "it opened but gave no frame"
        print(f"dreamdeck: error: the source {a.source} never delivered a frame: {why}", file=sys.stderr)
        rc = 1
    return rc


def _audio_input(a, store):
    """--audio-in/--audio-out/--audio-renderer checked before anything starts; None when audio stays off."""
    if getattr(a, "audio_in", None) is None and getattr(a, "audio_out", None) is None:
        return None
    from engine.audio.devices import AudioDeviceError, choose_device
    from engine.audio.inputs import AudioInputError, make_input

    try:
        choose_device(a.audio_out, "output")  # a name that matches nothing is the user's to fix, not a retry loop
        return make_input(a.audio_in)
    except (AudioDeviceError, AudioInputError) as e:
        raise UserError(str(e)) from None
