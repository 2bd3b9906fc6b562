"""What the window is given to drive: the engine parts and the show's actions.

``app.gui`` builds one :class:`Console` (the composition root); the window only
uses what is here, so ``ui`` never imports ``app`` and tests can hand in an
identity model or no OSC at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable


@dataclass
class Console:
    store: Any  # engine.params.registry.ParamStore
    pipeline: Any  # engine.live.pipeline.LivePipeline (already holding `preview` as a sink)
    preview: Any  # engine.sinks.preview.PreviewSink: what the output sends
    show: Any = None  # app.show_control.ShowControl: presets (list/recall/save/rename/delete)
    osc: Any = None  # app.osc.service.OscService, or None
    model_name: str = "tiny"  # the model running (or, at start-up, being loaded)
    model: Any = None  # engine.live.model_host.ModelHost: loads models in the background, swaps them in
    source_spec: str = "pattern"
    # wraps a source so the window can show the raw input (app.input_tap.TappedSource)
    tap_source: Callable[[Any], Any] = lambda s: s
    input_tap: Any = None  # the tapped source now running (has .latest())
    # bundle -> generator; defaults to a DiffusionStream with the store's settings
    make_generator: Callable[[Any], Any] | None = None
    load_options: dict = field(default_factory=dict)  # extra load_model keyword arguments
    on_close: Callable[[], None] | None = None  # stops the engine (OSC, show, pipeline)
    # applies a new output_size / output_fps: replaces ``pipeline`` with a restarted one (same source,
    # generator and sinks); None where the engine cannot be restarted from the window
    restart_output: Callable[[], None] | None = None

    def use_source(self, source: Any, spec: str) -> None:
        """Put ``source`` on air, tapped for the input preview; the output holds its last frame meanwhile."""
        tapped = self.tap_source(source)
        self.input_tap, self.source_spec = tapped, spec
        self.pipeline.set_source(tapped)
