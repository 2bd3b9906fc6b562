"""What control surfaces (OSC, MIDI, the GUI) may ask of the show besides setting
parameters: the seam between the surfaces and the preset/tempo machinery.

Parameters go straight into the registry (engine.params); everything that is an
*action* goes through an object with this shape (``app.show_control.ShowControl``):
``trigger(name, arg, source)`` runs any action of the one table,
``engine.params.actions.ACTIONS``; the named methods below stay for the code that
calls them directly (the presets panel, the soak run).
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


class ShowActionError(Exception):
    """An action was refused (unknown preset, bad name); the message says why."""


@runtime_checkable
class ShowActions(Protocol):
    def trigger(self, name: str, arg: Any = None, source: object = None) -> Any:
        """Run action ``name`` of engine.params.actions.ACTIONS (arg: see its ``argument``).
        Returns its answer (preset_list: the names; panic: a warning line or None); raises
        ShowActionError (one line) for an unknown action, a bad argument or a refusal."""

    def find_preset(self, name_or_index: str | int) -> Any:
        """The preset (app.presets.store.Preset) by name or 0-based index; raises ShowActionError."""

    def recall_preset(self, name_or_index: str | int, source: object = None) -> None:
        """Recall a preset by name or 0-based index in list order, with the registry's
        preset_fade_time and preset_quantize; raises ShowActionError."""

    def save_preset(self, name: str, source: object = None) -> None:
        """Save the current values as preset ``name``; raises ShowActionError."""

    def rename_preset(self, old: str, new: str, source: object = None) -> None:
        """Rename a user preset; raises ShowActionError."""

    def delete_preset(self, name: str, source: object = None) -> None:
        """Delete a user preset; raises ShowActionError."""

    def preset_names(self) -> list[str]:
        """The presets in list order."""

    def tap(self, source: object = None) -> None:
        """One tap of tap tempo."""
