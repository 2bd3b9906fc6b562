"""``dreamdeck`` / ``dreamdeck gui``: the VJ console (the composition root of ``ui``).

Builds the registry from the flags and one :class:`app.session.ShowSession` (with a
preview tap), starts it, and hands it to :class:`ui.main_window.MainWindow`, which is
widgets over it. Closing the window stops the session within 2 s.

The console's show comes back after a restart (or a crash): the session keeps it in the show file
(``<data folder>/show.json``, see :mod:`app.session.persist`) and restores it at start; the flags
typed on the command line (and ``--preset``) win over it, and ``--fresh`` starts from the defaults.
(``dreamdeck live`` keeps no show file: a scripted run does the same thing every time.)
"""

from __future__ import annotations

import os
import sys
import time

NO_DISPLAY = ("dreamdeck: no display: run 'dreamdeck demo' or set QT_QPA_PLATFORM=offscreen/xcb with a desktop session")


def add_gui_arguments(p) -> None:
    g = p.add_argument_group("console")
    from engine.sources import SPEC_HELP

    g.add_argument("--source", default=None, help=f"{SPEC_HELP} (default: the source of the saved show, else the first "
                                                 "camera, else the test pattern)")
    g.add_argument("--fresh", action="store_true",
                   help="start from the defaults, ignoring the saved show (which this show then replaces)")
    from .flags import OUTPUT, AUDIO, add_flags
    from .presets.commands import add_live_preset_argument

    add_flags(g, OUTPUT + AUDIO)
    add_live_preset_argument(g)
    from .osc.service import add_osc_arguments

    add_osc_arguments(p)
    from .midi.commands import add_midi_arguments

    add_midi_arguments(p)


def display_available() -> bool:
    platform = os.environ.get("QT_QPA_PLATFORM", "")
    if platform.split(":")[0] in ("offscreen", "minimal", "vnc", "eglfs", "linuxfb"):
        return True
    if sys.platform.startswith("linux"):
        return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    return True


def default_source_spec(show_file=None) -> str:
    """The source on air in the saved show (``show_file``), if it is still there; else the first camera; else the
    pattern."""
    from engine.sources import SourceError, list_cameras, make_source

    from .session.persist import remembered_in

    last = remembered_in(show_file, "source")
    try:
        if isinstance(last, str) and last and make_source(last).availability() is None:
            return last
    except (SourceError, OSError):
        pass
    cams = list_cameras()
    return f"camera:{cams[0]['index']}" if cams else "pattern"


def build_session(store, source_spec: str, *, show=None, generator=None, config=None, make_generator=None, load=None):
    """The console's show session: a :class:`app.session.ShowSession` with a preview tap for the window.
    ``generator`` puts a stage on air at once (tests); otherwise the model loads when the session starts."""
    from .session import SessionConfig, ShowSession

    config = config or SessionConfig()
    config.source, config.preview = source_spec, True
    return ShowSession(store, config, show=show, generator=generator, make_generator=make_generator, load=load)


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

    from .flags import build_store
    from .presets.commands import apply_live_preset
    from .session import ShowSession, config_from_args
    from .session.config import kept_params
    from .session.persist import default_path

    store = build_store(a)
    preset = apply_live_preset(store, a)
    show_file = default_path()
    fresh = bool(getattr(a, "fresh", False))
    source_spec = a.source or default_source_spec(None if fresh else show_file)
    config = config_from_args(a, source_spec, preview=True)
    config.show_file, config.fresh = str(show_file), fresh
    config.keep = kept_params(a, preset.values if preset is not None else ())
    # the show starts on the input at once (the saved show restored), every surface serves, and the model loads
    # behind them
    session = ShowSession(store, config)

    app = QApplication.instance() or QApplication(sys.argv[:1])
    if app is None:
        print(NO_DISPLAY, file=sys.stderr)
        return 2
    app.setApplicationName("DreamDeck")
    from ui.main_window import MainWindow

    try:
        for line in session.start(lenient=True):  # a MIDI port or audio device that fails is shown in its panel
            print(line, flush=True)
    except Exception:
        session.stop()
        raise
    window = MainWindow(session)
    window.show()
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
            from engine.media.files import write_image

            for what, frame in (("output", window._output_frame()), ("input", window._input_frame())):
                if frame is not None:  # beside the picture: the frames themselves, for tests to measure
                    write_image(f"{path}.{what}.png", frame)
            print(f"screenshot: {path}; first output frame after {window.first_frame_s} s; "
                  f"{session.status().model.describe()}", flush=True)
            window.close()

        QTimer.singleShot(int(float(secs or 6) * 1000), grab)
    print(f"dreamdeck: console up in {time.monotonic() - t0:.1f} s (model {store.get('model')!r}, source {source_spec})",
          flush=True)
    try:
        return app.exec()
    finally:
        window.shutdown()
