"""``dreamdeck`` / ``dreamdeck gui``: the VJ console (the composition root of ``ui``).

Builds the registry from the flags and one :class:`app.session.ShowSession` (with a
preview tap), starts it, and hands it to :class:`ui.main_window.MainWindow`, which is
widgets over it. Closing the window stops the session within 2 s.
"""

from __future__ import annotations

import os
import sys
import time

NO_DISPLAY = ("dreamdeck: no display: run 'dreamdeck demo' or set QT_QPA_PLATFORM=offscreen/xcb with a desktop session")


def add_gui_arguments(p) -> None:
    g = p.add_argument_group("console")
    from engine.sources import SPEC_HELP

    g.add_argument("--source", default=None, help=f"{SPEC_HELP} (default: the last source used, else the first camera, "
                                                 "else the test pattern)")
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

    store = build_store(a)
    apply_live_preset(store, a)
    source_spec = a.source or default_source_spec()
    # the show starts on the input at once, every surface serves, and the model loads behind them
    session = ShowSession(store, config_from_args(a, source_spec, preview=True))

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
            print(f"screenshot: {path}; first output frame after {window.first_frame_s} s", flush=True)
            window.close()

        QTimer.singleShot(int(float(secs or 6) * 1000), grab)
    print(f"dreamdeck: console up in {time.monotonic() - t0:.1f} s (model {a.model!r}, source {source_spec})", flush=True)
    try:
        return app.exec()
    finally:
        window.shutdown()
