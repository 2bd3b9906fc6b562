"""Model loading in the background: a failure is shown inline and the running model carries on."""

import os


def test_failing_model_load_shows_its_message_and_the_old_model_keeps_running(window, qtbot):
    assert os.environ.get("HF_HUB_OFFLINE") == "1"
    pipe = window.session.pipeline
    panel = window.model_panel
    panel.name_box.setCurrentText("nobody/none")
    panel.load_clicked()
    qtbot.waitUntil(lambda: not panel.error_label.isHidden(), timeout=10000)
    text = panel.error_label.text()
    assert "nobody/none" in text and "Still running 'tiny'" in text
    assert len(text.splitlines()) == 1 and ".." not in text
    assert panel.load_button.isEnabled() and not panel.busy
    before_gen = pipe.snapshot_metrics().frames_generated
    before_shown = window.output_view.frames_shown
    qtbot.waitUntil(lambda: pipe.snapshot_metrics().frames_generated > before_gen + 5, timeout=3000)
    qtbot.waitUntil(lambda: window.output_view.frames_shown > before_shown + 5, timeout=3000)
    assert panel.current == "tiny" and window.session.store.get("model") == "tiny"


def test_loading_tiny_swaps_the_generator_and_remembers_it(window, qtbot):
    from engine.diffusion.stream import DiffusionStream

    panel = window.model_panel
    panel.load("tiny")
    qtbot.waitUntil(lambda: not panel.busy and not panel.progress.isVisible(), timeout=20000)
    assert panel.error_label.isHidden()
    qtbot.waitUntil(lambda: isinstance(window.session.pipeline._generator, DiffusionStream), timeout=5000)
    assert panel.recent[:2] == ["styles", "tiny"] and window.banner.isVisibleTo(window)  # the built-ins come first


def test_live_lock_asks_before_a_model_reload(window, qtbot):
    window.live_button.setChecked(True)
    window.model_panel.name_box.setCurrentText("tiny")
    window.model_panel.load_clicked()
    assert window.confirm_bar.asking and "tiny" in window.confirm_bar.question.text() and not window.model_panel.busy
    window.confirm_bar.no_button.click()
    assert not window.confirm_bar.asking and not window.model_panel.busy
