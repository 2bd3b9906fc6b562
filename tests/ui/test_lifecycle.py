"""Start-up to the first output frame, and closing: the engine stops, no thread left.

(How long start-up and closing take is measured by `dreamdeck bench`, not asserted here.)"""

import threading


def test_startup_with_tiny_to_first_output_frame(qtbot, make_session, settings):
    from engine.diffusion.model_loader import load_model
    from engine.diffusion.stream import DiffusionStream, StreamSettings
    from ui.main_window import MainWindow

    from engine.params.catalog import engine_store

    store = engine_store()  # as run_gui: registry, model load, stream, engine, window
    store.update({"size": 64})
    stream = DiffusionStream(load_model("tiny"), StreamSettings.from_values(store.snapshot().values))
    console = make_session(generator=stream, store=store)
    console.start(load_model=False)
    w = MainWindow(console, settings=settings)
    qtbot.addWidget(w)
    w.show()
    pipe = console.pipeline
    qtbot.waitUntil(lambda: pipe.snapshot_metrics().frames_generated > 0, timeout=60000)
    shown = w.output_view.frames_shown
    qtbot.waitUntil(lambda: w.output_view.frames_shown > shown, timeout=60000)  # a frame made by the model, on screen
    w.shutdown()
    assert not pipe.running


def test_closing_the_window_stops_the_engine_and_leaves_no_thread(qtbot, make_session, settings):
    from ui.main_window import MainWindow

    before = set(threading.enumerate())
    console = make_session()
    console.start(load_model=False)
    w = MainWindow(console, settings=settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.output_view.frames_shown > 0, timeout=30000)
    w.close()  # returns once the engine has stopped
    assert not console.pipeline.running
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not left, left


def test_layout_and_recent_models_persist(qtbot, make_session, settings):
    from ui.main_window import MainWindow

    console = make_session()
    console.start(load_model=False)
    w = MainWindow(console, settings=settings)
    qtbot.addWidget(w)
    w.model_panel.set_recent(["stabilityai/sd-turbo"])
    w.live_button.setChecked(True)
    w.shutdown()
    settings.sync()
    assert "stabilityai/sd-turbo" in settings.value("recent_models")
    assert console.remembered("live_lock") is True  # kept with the show (the show file), not the window
    assert settings.value("geometry") is not None
