import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")  # before anything imports Qt

import pytest


@pytest.fixture
def settings(tmp_path):
    from PySide6.QtCore import QSettings

    return QSettings(str(tmp_path / "dreamdeck.ini"), QSettings.Format.IniFormat)


@pytest.fixture
def make_session(tmp_path):
    """A real show session (identity model by default) built as the console builds it, with presets in tmp
    and MIDI mappings in tmp."""
    from app.gui import build_session
    from app.session import SessionConfig
    from app.presets.store import PresetStore
    from app.show_control import ShowControl
    from engine.live.pipeline import IdentityStage
    from engine.params.catalog import engine_store

    made = []

    def make(generator=None, source="pattern", size=64, store=None):
        if store is None:
            store = engine_store()
            store.set("model", "tiny")  # the name the identity stage runs under (a diffusion family, as most tests need)
        store.update({"size": size, "output_size": "512x512", "output_fps": 30})
        show = ShowControl(store, presets=PresetStore(tmp_path / "presets", params=store.params))
        session = build_session(store, source, show=show, generator=generator or IdentityStage(size),
                                # MIDI through ALSA only: it answers at once (ports, or none) and never meets the
                                # JACK server the MIDI tests start
                                config=SessionConfig(osc=None, midi_api="LINUX_ALSA", midi_data_dir=str(tmp_path / "data")))
        made.append(session)
        return session

    yield make
    for s in made:
        s.stop()


@pytest.fixture
def window(qtbot, make_session, settings):
    """The main window over a started identity-model show session; shut down after the test."""
    from ui.main_window import MainWindow

    session = make_session()
    session.start(load_model=False)
    w = MainWindow(session, settings=settings)
    qtbot.addWidget(w)
    w.show()
    yield w
    w.shutdown()
