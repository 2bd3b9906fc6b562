"""Start-up to the first output frame, and closing: the engine stops within 2 s, no thread left."""

import threading
import time


def test_startup_with_tiny_to_first_output_frame(qtbot, make_console, settings, capsys):
    from app.gui import start_console
    from engine.diffusion.model_loader import load_model
    from engine.diffusion.stream import DiffusionStream, StreamSettings
    from ui.main_window import MainWindow

    from engine.params.catalog import engine_store

    t0 = time.monotonic()  # as run_gui: registry, model load, stream, engine, window
    store = engine_store()
    store.update({"size": 64})
    stream = DiffusionStream(load_model("tiny"), StreamSettings.from_values(store.snapshot().values))
    console = make_console(generator=stream, store=store)
    start_console(console)
    w = MainWindow(console, settings=settings)
    qtbot.addWidget(w)
    w.show()
    pipe = console.pipeline
    qtbot.waitUntil(lambda: pipe.snapshot_metrics()["frames_generated"] > 0, timeout=10000)
    shown = w.output_view.frames_shown
    qtbot.waitUntil(lambda: w.output_view.frames_shown > shown, timeout=10000)  # a frame made by the model, on screen
    elapsed = time.monotonic() - t0
    with capsys.disabled():
        print(f"\n[start-up] tiny model at 64 px: first generated output frame on screen after {elapsed:.2f} s")
    assert elapsed < 10.0
    w.shutdown()


def test_closing_the_window_stops_the_engine_within_2s(qtbot, make_console, settings):
    from app.gui import start_console
    from ui.main_window import MainWindow

    before = set(threading.enumerate())
    console = make_console()
    start_console(console)
    w = MainWindow(console, settings=settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: w.output_view.frames_shown > 0, timeout=5000)
    t0 = time.monotonic()
    w.close()
    took = time.monotonic() - t0
    assert took < 2.0, took
    assert not console.pipeline.running
    left = [t.name for t in threading.enumerate() if t not in before and t.is_alive()]
    assert not left, left


def test_layout_and_recent_models_persist(qtbot, make_console, settings):
    from app.gui import start_console
    from ui.main_window import MainWindow

    console = make_console()
    start_console(console)
    w = MainWindow(console, settings=settings)
    qtbot.addWidget(w)
    w.model_panel.set_recent(["stabilityai/sd-turbo"])
    w.live_button.setChecked(True)
    w.shutdown()
    settings.sync()
    assert "stabilityai/sd-turbo" in settings.value("recent_models")
    assert settings.value("live_lock", type=bool) is True
    assert settings.value("geometry") is not None
