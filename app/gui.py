"""``dreamdeck`` / ``dreamdeck gui``: the VJ console (composition root of engine + ui).

Builds the registry, the model, the live pipeline with a preview tap, the show
control and OSC, starts them, and opens :class:`ui.main_window.MainWindow`.
Closing the window stops everything within 2 s.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

from .errors import UserError

NO_DISPLAY = ("dreamdeck: no display: run 'dreamdeck demo' or set QT_QPA_PLATFORM=offscreen/xcb with a desktop session")


def add_gui_arguments(p) -> None:
    g = p.add_argument_group("console")
    g.add_argument("--source", default=None, help="pattern | camera:N | file:PATH | screen | image:PATH (default: first camera, else the test pattern)")
    from .osc.service import add_osc_arguments

    add_osc_arguments(p)


def display_available() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def default_source_spec() -> str:
    """The source the console last put on air, if it is still there; else the first camera; else the pattern."""
    from engine.sources import SourceError, list_cameras, make_source

    try:
        from PySide6.QtCore import QSettings

        last = QSettings("DreamDeck", "DreamDeck").value("last_source")
        if last and make_source(str(last)).availability() is None:
            return str(last)
    except (SourceError, ImportError, OSError):
        pass
    cams = list_cameras()
    return f"camera:{cams[0]['index']}" if cams else "pattern"


def build_console(store, generator, source_spec: str, model_name: str = "tiny", osc=None, show=None, load_options=None,
                  make_generator=None):
    """Wire a :class:`ui.context.Console`: pipeline with a preview tap and a tapped source, show control, and the
    model host. ``generator`` None starts the show without a model (the input shows) until ``console.model`` loads one."""
    from engine.live.model_host import ModelHost, stream_generator
    from engine.live.pipeline import LivePipeline
    from engine.sinks.preview import PreviewSink
    from engine.sources import SourceError, make_source
    from ui.context import Console

    from .input_tap import TappedSource
    from .show_control import ShowControl

    try:
        source = TappedSource(make_source(source_spec))
    except SourceError as e:
        raise UserError(str(e)) from None
    pipeline = LivePipeline(store, None, source)
    preview = PreviewSink()
    pipeline.add_sink(preview)
    show = show if show is not None else ShowControl(store)
    make_generator = make_generator or stream_generator(store)
    console = Console(store=store, pipeline=pipeline, preview=preview, show=show, osc=osc, model_name=model_name,
                      source_spec=source_spec, tap_source=TappedSource, input_tap=source, make_generator=make_generator,
                      load_options=dict(load_options or {}))
    swapping = threading.Lock()  # a model swapped in while the output restarts must reach the new pipeline

    def swap(g) -> None:
        with swapping:
            console.pipeline.set_generator(g)

    console.model = ModelHost(swap, make_generator, console.load_options)
    show.recaller.on_error = lambda message: console.pipeline.metrics.fault("preset recall", message)
    if generator is not None:
        console.model.adopt(model_name, generator)

    def stop() -> None:
        console.model.cancel()
        if osc is not None:
            osc.stop()
        show.stop()
        console.pipeline.stop(2.0)  # the pipeline running now (a size / fps change replaces it)
        console.model.wait(2.0)

    console.on_close = stop
    console.restart_output = lambda: restart_pipeline(console, swapping)
    return console


def restart_pipeline(console, swapping: threading.Lock | None = None) -> None:
    """Apply a new output size / fps: stop the pipeline and start a fresh one with the same source,
    generator and sinks (a stopped LivePipeline cannot be started again: its sink threads are spent).

    The output pauses for the stop + start (a fraction of a second); the sinks are reopened at the new size.
    """
    from engine.live.pipeline import LivePipeline

    with swapping or contextlib.nullcontext():  # no model swap lands on the pipeline being replaced
        old = console.pipeline
        generator = old.generator  # a model swap not yet picked up wins
        sinks = [runner.sink for runner in old.sinks.values()]
        old.stop(2.0)
        new = LivePipeline(console.store, generator, console.input_tap)
        for sink in sinks:
            new.add_sink(sink)
        new.start()
        console.pipeline = new


def start_console(console) -> None:
    console.pipeline.start()
    console.show.start()
    if console.osc is not None:
        print(console.osc.start(), flush=True)


def run_gui(a) -> int:
    if not display_available():
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    t0 = time.monotonic()
    from PySide6.QtWidgets import QApplication

    from ui.qt_platform import startup_problem

    unsafe = startup_problem()
    if unsafe:
        print(f"dreamdeck: {unsafe}", file=sys.stderr)
        return 2

    from engine.live.model_host import stream_generator

    from .flags import build_store
    from .loading import load_options
    from .osc.service import osc_from_args

    store = build_store(a)
    from .show_control import ShowControl

    show = ShowControl(store)
    osc = osc_from_args(a, store, show) if getattr(a, "osc_port", None) != 0 else None
    source_spec = a.source or default_source_spec()
    # no model yet: the show starts on the input at once, every surface serves, and the model loads behind them
    console = build_console(store, None, source_spec, a.model, osc=osc, show=show, load_options=load_options(a),
                            make_generator=stream_generator(store, a.t_index))

    app = QApplication.instance() or QApplication(sys.argv[:1])
    if app is None:
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    app.setApplicationName("DreamDeck")
    from ui.main_window import MainWindow

    start_console(console)
    window = MainWindow(console)
    window.show()
    window.model_panel.load(a.model)
    shot = os.environ.get("DREAMDECK_SCREENSHOT")  # for docs: grab the window after N seconds, then quit
    if shot:
        from PySide6.QtCore import QTimer

        path, _, secs = shot.partition("@")

        tab = os.environ.get("DREAMDECK_SCREENSHOT_TAB")  # e.g. "Audio": show that tab in the picture
        if tab:
            names = [window.tabs.tabText(i).replace("&&", "&") for i in range(window.tabs.count())]
            if tab in names:
                window.tabs.setCurrentIndex(names.index(tab))

        def grab() -> None:
            window.grab().save(path)
            print(f"screenshot: {path}; first output frame after {window.first_frame_s} s", flush=True)
            window.close()

        QTimer.singleShot(int(float(secs or 6) * 1000), grab)
    print(f"dreamdeck: console up in {time.monotonic() - t0:.1f} s (model {a.model!r}, source {source_spec})", flush=True)
    try:
        return app.exec()
    finally:
        window.shutdown()
