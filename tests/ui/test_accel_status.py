"""The console shows which acceleration back end serves, and why a requested one does not."""

from engine.diffusion.stream import DiffusionStream, StreamSettings


def test_accel_status_shows_serving_back_end_and_refusal(qtbot, make_session, settings, tiny_bundle, tmp_path, monkeypatch):
    from engine.params.catalog import engine_store
    from ui.main_window import MainWindow

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    store = engine_store()
    store.update({"size": 64, "steps": 1})
    stream = DiffusionStream(tiny_bundle, StreamSettings.from_values(store.snapshot().values))
    console = make_session(generator=stream, store=store)
    console.start(load_model=False)
    w = MainWindow(console, settings=settings)
    qtbot.addWidget(w)
    w.show()
    try:
        qtbot.waitUntil(lambda: "serving: <b>eager</b>" in w.accel_status.text(), timeout=20000)
        store.update({"accel": "tensorrt"})  # cannot serve on this CPU-only machine
        qtbot.waitUntil(lambda: "tensorrt" in w.accel_status.text() and "#ff6b6b" in w.accel_status.text(), timeout=30000)
        assert "serving: <b>eager</b>" in w.accel_status.text()
        store.update({"accel": "onnxruntime"})  # serves here: how, on hovering
        qtbot.waitUntil(lambda: "serving: <b>onnxruntime</b>" in w.accel_status.text(), timeout=60000)
        assert "CPUExecutionProvider" in w.accel_status.toolTip() and "threads" in w.accel_status.toolTip()
    finally:
        w.shutdown()
