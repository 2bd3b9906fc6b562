"""What the window is given to drive: the show session's interface.

``app.gui`` builds one ``app.session.ShowSession`` and hands it to the window; the
window only uses what this protocol names, so ``ui`` never imports ``app`` and the
console is widgets over the same session ``dreamdeck live`` runs.
"""

from __future__ import annotations

from typing import Any, Callable, Protocol


class Session(Protocol):
    store: Any  # engine.params.registry.ParamStore: every value, and change events
    preview: Any  # engine.sinks.preview.PreviewSink: what the output sends (latest frame)
    input_tap: Any  # the source on air, tapped for the input preview (.latest())
    source_spec: str  # the source spec on air
    show: Any  # presets and tempo (app.show_actions.ShowActions): list, recall, save, rename, delete
    osc: Any  # the OSC service (.server with .stats and .address), or None when OSC is off
    # the MIDI input (app.session.midi.SessionMidi): ports(), open(port, virtual), close(), learn(target, action, arg),
    # cancel_learn(), forget(param), forget_action(name), mappings(), state(), mapping_file
    midi: Any

    def status(self) -> Any:
        """One typed snapshot (app.session.ShowStatus): pipeline, model, source, sinks, audio, MIDI, OSC."""

    def use_source(self, spec: str) -> None:
        """Put a source on air; raises an error whose text says why it cannot run."""

    def load_model(self, name: str) -> bool: ...

    def cancel_load(self) -> None: ...

    def watch_model(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Model state changes, on the loading thread; returns the unsubscribe call."""

    def add_sink(self, spec: str) -> str:
        """``vcam`` or ``record:PATH``; returns the sink's name; raises with a line the user can act on."""

    def remove_sink(self, name: str) -> None: ...

    def sink(self, name: str) -> Any: ...

    def apply_output(self) -> None:
        """Restart the output side at the registry's output_size / output_fps."""

    def start_audio(self, input_spec: str | None, output: str | None = None, background: bool = False) -> None: ...

    def stop_audio(self) -> None: ...

    def trigger(self, action: str, arg: Any = None, source: Any = None) -> Any:
        """Run an action of engine.params.actions (blackout, panic, tap, preset_next, ...)."""

    def set_live_lock(self, on: bool) -> None:
        """While on, changes that reload (from any surface) wait for answer_held; remembered with the show."""

    def answer_held(self, yes: bool) -> dict:
        """Apply or drop the changes the live lock holds; returns them."""

    def remember(self, key: str, value: Any) -> None:
        """Keep a fact with the show (restored after a restart)."""

    def remembered(self, key: str, default: Any = None) -> Any: ...

    def fresh_look(self, source: Any = None) -> dict:
        """Every value of the look back to its default (the model, output and acceleration stay)."""

    def stop(self, timeout: float = 2.0) -> None: ...
