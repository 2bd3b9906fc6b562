"""Every action of the table is reachable in the console by a key or a button, and runs through the session.
(tests/app/test_action_table.py walks the same table over OSC and MIDI.)"""

from PySide6.QtWidgets import QPushButton

from engine.params.actions import ACTIONS


def test_every_action_has_a_key_or_a_button_that_runs_it(window, monkeypatch):
    session = window.session
    show = session.show
    for name in ("one", "two"):
        show.save_preset(name)
    window.presets_panel.reload()
    ran: list[tuple[str, object]] = []
    real = session.trigger

    def spy(name, arg=None, source=None):
        ran.append((name, arg))
        return real(name, arg, source=source)

    monkeypatch.setattr(session, "trigger", spy)
    window.presets_panel.name_edit.setText("three")  # the name Save and Rename take
    keys = {s.objectName(): s for s in window.shortcuts}
    for a in ACTIONS:
        before = len(ran)
        if a.key is not None:  # by its key
            keys[f"key:{a.key}"].activated.emit()
            assert [n for n, _ in ran[before:]] == [a.name], (a.name, a.key)
        button = window.findChild(QPushButton, f"action:{a.name}")
        assert button is not None or a.key is not None, f"{a.name} has neither a key nor a button"
        if button is not None and not button.isCheckable():  # the safety toggles set their state (tested apart)
            if a.argument is not None and a.name in ("preset_recall", "preset_delete", "preset_rename"):
                window.presets_panel.list.setCurrentRow(0)
            before = len(ran)
            button.click()
            assert ran[before][0] == a.name, (a.name, window.presets_panel.message.text())  # (then the list is reloaded)


def test_toggle_keys_flip_and_panic_blacks_out(window):
    store = window.session.store
    keys = {s.objectName(): s for s in window.shortcuts}
    for a in (x for x in ACTIONS if x.toggle):
        before = store.get(a.param)
        keys[f"key:{a.key}"].activated.emit()
        assert store.get(a.param) is (not before), a.name
        keys[f"key:{a.key}"].activated.emit()
    keys["key:Shift+Esc"].activated.emit()
    assert store.get("blackout") is True


def test_the_console_and_live_run_the_same_session_type(window, monkeypatch, capsys):
    import app.live
    from app.cli import main
    from app.session import ShowSession

    made = []
    real_init = ShowSession.__init__

    def record(self, *args, **kwargs):
        made.append(type(self))
        real_init(self, *args, **kwargs)

    monkeypatch.setattr(ShowSession, "__init__", record)
    assert main(["live", "--source", "pattern", "--model", "tiny", "--size", "64", "--duration", "1", "--osc-port", "0"]) == 0
    assert made == [ShowSession] and type(window.session) is ShowSession
    assert app.live.cmd_live.__module__ == "app.live"
