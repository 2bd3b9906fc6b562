"""One running show, Qt-free: the floor every surface stands on.

:class:`ShowSession` owns the registry, the live pipeline, the model (loaded in the
background, swapped in between frames), the source and the sinks, audio, OSC, MIDI
and presets.  Surfaces only translate: the console's widgets, ``dreamdeck live``,
OSC, MIDI and keys call its intents (``use_source``, ``load_model``, ``add_sink``,
``start_audio``, ``recall``, ``trigger``, ...) and read one typed :class:`ShowStatus`.
Nothing else builds show parts, so a new surface or a new kind of output is wired once.

The running model is the registry's ``model`` value: a successful load writes it, and
a write from a control surface (OSC, MIDI, the console) asks for that model to be loaded;
one asked for during a load is loaded next.  A preset recall never switches the model
(looks saved before the model was named carry ``tiny``): the registry keeps the running one.

With ``config.show_file`` the show comes back after a restart: the file's values are restored before
anything is built (the command line's own values win), and it is kept up to date while the show runs
(:mod:`app.session.persist`).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from .audio import SessionAudio
from .config import SessionConfig
from ..presets.cue import NOT_CAPTURED_GROUPS
from .errors import SessionError
from .live_lock import LiveLock
from .midi import SessionMidi
from .persist import ShowFile
from .sinks import make_sink
from .status import ShowStatus

SESSION = "session"  # the source of the registry writes the session makes itself
# the groups a fresh look leaves as they are: the set-up (model, output, acceleration) and what a saved look never
# holds either (the safety controls: a blackout stays on; tempo and preset settings)
FRESH_LOOK_KEEPS = ("model", "output", "acceleration", *NOT_CAPTURED_GROUPS)
log = logging.getLogger("dreamdeck.session")


class ShowSession:
    def __init__(self, store, config: SessionConfig | None = None, *, show=None, make_generator=None, generator=None,
                 load=None):
        """Check and build every part (nothing runs until :meth:`start`); SessionError names what cannot run.
        ``show``: a ShowControl (default: one over the user's presets). ``make_generator``: bundle -> generator
        (default: a DiffusionStream with the registry's settings). ``generator``: a stage already built to put on
        air at once (tests, benchmarks). ``load``: the model loader (tests)."""
        from engine.live.model_host import ModelHost, stream_generator
        from engine.live.pipeline import LivePipeline
        from engine.sinks.preview import PreviewSink

        from ..show_control import ShowControl

        self.store = store
        self.config = config = config or SessionConfig()
        # the saved show first: the source, the output size and the model built below are the restored ones
        self.show_file = ShowFile(store, config.show_file)
        if not config.fresh:
            self.show_file.restore(keep=config.keep)
        self.show = show if show is not None else ShowControl(store)
        self.osc = self._osc(config)
        self.midi = SessionMidi(store, self.show, **config.midi_options())
        # a source missing at start (a camera not plugged in yet, a file not there) is named in the status and
        # retried, as during the show; a spec that names no source at all is refused here
        self.input_tap = self._tapped(config.source, check=False)
        self.source_spec = config.source
        self.show_file.remember("source", config.source)
        self.pipeline = LivePipeline(store, None, self.input_tap)
        self.preview = PreviewSink() if config.preview else None
        if self.preview is not None:
            self.pipeline.add_sink(self.preview)
            self.show.capture = lambda: self.preview.latest()[0]  # a saved preset's thumbnail: the output now
        self._specs: dict[str, str] = {}  # sink name -> spec
        for spec in config.sinks:
            self._add(make_sink(spec, self), spec)
        self.audio = SessionAudio(store, self.pipeline.metrics, on_air=lambda: self.pipeline.source)
        self._audio_input = config.audio_input()  # checked now, started with the show
        self._swapping = threading.Lock()  # a model swapped in while the output restarts must reach the new pipeline
        self.model = ModelHost(self._swap, make_generator or stream_generator(store, config.t_index), config.load_options,
                               on_change=self._model_changed, load=load)
        self._model_watchers: list[Callable[[Any], None]] = []
        self._wanted: str | None = None  # a model asked for while another was loading: loaded next
        self._ran: str | None = None  # the model that ran before the latest load (a family change resets strength)
        self.show.recaller.on_error = lambda message: self.pipeline.metrics.fault("preset recall", message)
        self._unsubscribe = store.subscribe(self._on_param)
        # after the restore: a restored show is not a change to hold; the lock comes back as it was left
        self.live_lock = LiveLock(store, SESSION)
        self.live_lock.set(bool(self.remembered("live_lock", False)))
        if generator is not None:
            self.model.adopt(store.get("model"), generator)
        self.started = self.stopped = False

    # -- lifecycle ---------------------------------------------------------------------
    def start(self, load_model: bool = True, lenient: bool = False) -> list[str]:
        """Run the show: pipeline, presets and tempo, OSC, MIDI, audio; then (``load_model``) load the registry's
        model behind them. Returns the lines to tell the user (OSC address, MIDI port, audio). A MIDI port or
        audio device that cannot open raises SessionError, or (``lenient``: the console, which shows them in
        its panels) becomes a warning line and the show goes on without it."""
        self.started = True
        lines = list(self.show_file.notes)  # a saved show that could not be read
        self.show_file.start()
        self.pipeline.start()
        self.show.start()
        if self.osc is not None:
            lines.append(self.osc.start())
        port = self.config.midi_port
        try:
            if port is not None or self.config.midi_virtual:
                lines.append(self.midi.open(port or None, virtual=self.config.midi_virtual))
        except SessionError as e:
            if not lenient:
                raise
            lines.append(f"dreamdeck: warning: MIDI is off: {e}")
        if self._audio_input is not None:
            try:
                self.audio.start(*self._audio_input)
                lines.append(self.audio.describe())
            except SessionError as e:
                if not lenient:
                    raise
                lines.append(f"dreamdeck: warning: {e}")
        if load_model and self.model.state().running is None:
            self.load_model(self.store.get("model"))
        return lines

    def stop(self, timeout: float = 2.0) -> None:
        """Stop everything (idempotent): a load in progress is cancelled, outputs are closed (a recording saved)."""
        if self.stopped:
            return
        self.stopped = True
        self._unsubscribe()
        self.live_lock.close()
        self.model.cancel()
        steps = [self.midi.close, self.osc.stop if self.osc is not None else None, self.show.stop, self.audio.stop,
                 self.show_file.stop]  # the show as it ends is saved
        try:
            for step in steps:  # each part stops even if one before it failed
                try:
                    if step is not None:
                        step()
                except Exception:
                    log.exception("stopping the show: %s failed", getattr(step, "__qualname__", step))
        finally:
            self.pipeline.stop(timeout)  # always: a night's recording is finished and saved
            self.model.wait(timeout)

    # -- intents -----------------------------------------------------------------------
    def use_source(self, spec: str) -> None:
        """Put the source ``spec`` on air (the output holds its last frame meanwhile); SessionError when it
        cannot run here, and the current source stays."""
        self.input_tap = tapped = self._tapped(spec)
        self.source_spec = spec
        self.pipeline.set_source(tapped)
        self.show_file.remember("source", spec)

    def load_model(self, name: str) -> bool:
        """Load ``name`` in the background; the running model (or the input) shows until it is ready.
        While another load runs, ``name`` is loaded after it (the last asked for wins); False then."""
        if self.model.load(name):
            return True
        self._wanted = name
        return False

    def cancel_load(self) -> None:
        self.model.cancel()

    def add_sink(self, spec) -> str:
        """Send the output to ``spec`` (``vcam[:BACKEND[:DEVICE]]``, ``record:PATH``), or to a sink object already
        built (a plug-in, the soak's fault injector); returns the sink's name."""
        if isinstance(spec, str):
            return self._add(make_sink(spec, self), spec)
        return self._add(spec, f"sink:{spec.name}")

    def remove_sink(self, name: str) -> None:
        """Stop that output (a recording is finished and saved)."""
        self.pipeline.remove_sink(name)
        self._specs.pop(name, None)

    def sink(self, name: str):
        runner = self.pipeline.sinks.get(name)
        return runner.sink if runner is not None else None

    def start_audio(self, input_spec: str | None, output: str | None = None, background: bool = False) -> None:
        self.audio.start(input_spec, output, background=background)

    def stop_audio(self) -> None:
        self.audio.stop()

    def use_midi(self, port: str | None, virtual: bool = False) -> str:
        return self.midi.open(port, virtual=virtual)

    def learn_midi(self, target: str, action: bool = False, arg: Any = None) -> None:
        self.midi.learn(target, action=action, arg=arg)

    def recall(self, name_or_index: str | int, source: Any = SESSION) -> None:
        self.show.recall_preset(name_or_index, source=source)

    def trigger(self, action: str, arg: Any = None, source: Any = SESSION) -> Any:
        """Run one action of the action table (engine.params.actions); ShowActionError says why not."""
        return self.show.trigger(action, arg, source=source)

    def apply_output(self) -> None:
        """Restart the output side at the registry's output_size / output_fps: a short pause, the same source,
        model and sinks (a stopped pipeline cannot start again: its sink threads are spent)."""
        from engine.live.pipeline import LivePipeline
        from engine.sinks.recorder import RecorderSink

        with self._swapping:  # no model swap lands on the pipeline being replaced
            old = self.pipeline
            # a recording is one size: it is finished (saved) with the old output, not carried into the new one
            sinks = [runner.sink for runner in old.sinks.values() if not isinstance(runner.sink, RecorderSink)]
            for name in [n for n, r in old.sinks.items() if isinstance(r.sink, RecorderSink)]:
                self._specs.pop(name, None)
            generator = old.generator  # a model swap not yet picked up wins
            old.stop(2.0)
            new = LivePipeline(self.store, generator, self.input_tap)
            for sink in sinks:
                new.add_sink(sink)
            new.start()
            self.pipeline = new
            self.audio.publish_to(new.metrics)

    def set_live_lock(self, on: bool) -> None:
        """While on, a change that reloads (model, size, steps, output size or rate, ...), from any surface, is held
        until :meth:`answer_held` says yes; it is remembered with the show."""
        self.live_lock.set(on)
        self.remember("live_lock", bool(on))

    def answer_held(self, yes: bool) -> dict[str, Any]:
        """Apply (``yes``) or drop every change the live lock holds; returns them."""
        held = self.live_lock.take_held()
        if yes and held:
            values = {n: v for n, v in held.items() if n != "model"}
            if values:
                self.store.update(values, source=SESSION)
            if {"output_size", "output_fps"} & values.keys():
                self.apply_output()
            if "model" in held:
                self.load_model(held["model"])
        return held

    def remember(self, key: str, value: Any) -> None:
        """Keep ``value`` (anything JSON holds) with the show: it is in the show file and comes back after a restart
        (the console's live lock, ...). TypeError when JSON cannot hold it."""
        self.show_file.remember(key, value)

    def remembered(self, key: str, default: Any = None) -> Any:
        return self.show_file.remembered(key, default)

    def fresh_look(self, source: Any = SESSION) -> dict[str, Any]:
        """Every value back to its default (one update) except the set-up: the model and the output
        (:data:`FRESH_LOOK_KEEPS`); the source stays on air. Returns the values changed."""
        from engine.params.registry import Kind

        defaults = {n: p.default for n, p in self.store.params.items()
                    if p.group not in FRESH_LOOK_KEEPS and p.kind is not Kind.TRIGGER}
        current = self.store.snapshot()
        changes = {n: v for n, v in defaults.items() if current[n] != v}
        if changes:
            self.store.update(changes, source=source)
        return changes

    def watch_model(self, callback: Callable[[Any], None]) -> Callable[[], None]:
        """Be told every model state change (on the loading thread); returns the unsubscribe call."""
        self._model_watchers.append(callback)
        return lambda: self._model_watchers.remove(callback) if callback in self._model_watchers else None

    # -- reading -----------------------------------------------------------------------
    def status(self) -> ShowStatus:
        pipe = self.pipeline
        server = getattr(self.osc, "server", None) if self.osc is not None else None
        out = (pipe.out_size, pipe.out_fps) if getattr(pipe, "out_size", None) is not None else None
        return ShowStatus(pipeline=pipe.snapshot_metrics(), model=self.model.state(), model_name=self.store.get("model"),
                          source=self.source_spec, sinks=tuple(self._specs.values()), audio=self.audio.state(),
                          midi=self.midi.state(), osc=dict(server.stats) if server is not None else None, output=out,
                          live_lock=self.live_lock.locked, held=self.live_lock.held())

    # -- inside --------------------------------------------------------------------------
    def _osc(self, config: SessionConfig):
        if config.osc is None:
            return None
        from types import SimpleNamespace

        from ..errors import UserError
        from ..osc.service import osc_from_args

        try:
            return osc_from_args(SimpleNamespace(**config.osc), self.store, self.show)
        except UserError as e:
            raise SessionError(str(e)) from None

    @staticmethod
    def _tapped(spec: str, check: bool = True):
        from engine.sources import SourceError, make_source

        from ..input_tap import TappedSource

        try:
            source = make_source(spec)
            problem = source.availability() if check else None
        except SourceError as e:
            problem = str(e)
        if problem:
            raise SessionError(problem)
        return TappedSource(source)

    def _add(self, sink, spec: str) -> str:
        self.pipeline.add_sink(sink)
        self._specs[sink.name] = spec
        return sink.name

    def _swap(self, generator) -> None:
        with self._swapping:
            self.pipeline.set_generator(generator)

    def _model_changed(self, state) -> None:
        try:
            if state.loading is None:  # a load ended
                wanted, self._wanted = self._wanted, None
                if wanted is not None and wanted != state.running and not self.stopped:
                    # asked for during that load: its turn once this loading thread has ended (the registry names it)
                    threading.Thread(target=self._load_after, args=(wanted,), name="dreamdeck-model-next",
                                     daemon=True).start()
                elif state.running is not None and state.running != self.store.get("model"):
                    # the registry names the model running (a failed load leaves the running one named)
                    self.store.set("model", state.running, source=SESSION)
                if state.running is not None and state.running != self._ran:
                    self._family_defaults(self._ran, state.running)
                    self._ran = state.running
        finally:
            for watch in list(self._model_watchers):  # the console hears every change, whatever happened above
                watch(state)

    def _family_defaults(self, before: str | None, now: str) -> None:
        """From one model family to another (styles <-> diffusion): a strength still at the old family's own
        default takes the new one's (fully painted styles would be pure noise on a diffusion model)."""
        from ..flags import family_default

        if before is None:
            return
        old, new = family_default(before, "strength", self.store), family_default(now, "strength", self.store)
        if old != new and self.store.get("strength") == old:
            self.store.set("strength", new, source=SESSION)

    def _load_after(self, name: str) -> None:
        self.model.wait()
        if not self.stopped:
            self.load_model(name)

    def _on_param(self, name: str, value: Any, source: Any) -> None:
        if name != "model" or source == SESSION or not self.started or self.stopped:
            return
        state = self.model.state()
        if value not in (state.running, state.loading):
            self.load_model(value)  # OSC, MIDI or the console asked for another model
