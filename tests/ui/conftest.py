import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "dreamdeck.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_console(tmp_path):
    """A real live engine (identity model by default) wired as the app wires it, with presets in tmp."""
    from app.gui import build_console
    from app.presets.store import PresetStore
    from app.show_control import ShowControl
    from engine.live.pipeline import IdentityStage
    from engine.params.catalog import engine_store

    made = []

    def make(generator=None, source="pattern", size=64, store=None):
        store = store or engine_store()
        store.update({"size": size, "output_size": "512x512", "output_fps": 30})
        show = ShowControl(store, presets=PresetStore(tmp_path / "presets", params=store.params))
        console = build_console(store, generator or IdentityStage(size), source, show=show)
        made.append(console)
        return console

    yield make
    for c in made:
        c.on_close()


@pytest.fixture
def window(qtbot, make_console, settings):
    """The main window over a started identity-model engine; shut down after the test."""
    from app.gui import start_console
    from ui.main_window import MainWindow

    console = make_console()
    start_console(console)
    w = MainWindow(console, settings=settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()
