"""The VJ console: output preview, HUD, control tabs and the always-visible safety bar.

Nothing here waits on the engine: previews and the HUD are pulled by GUI timers
(latest frame, metrics snapshot), parameters go to the registry, registry
changes come back through :class:`~ui.binding.ParamBridge`.
"""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QApplication, QLabel, QMainWindow, QPushButton, QScrollArea, QSizePolicy, QSplitter,
                               QTabWidget, QVBoxLayout, QHBoxLayout, QWidget)

from engine.params.actions import shortcuts

from .binding import GUI, ParamBridge
from .confirm_bar import ConfirmBar
from .context import Session
from .audio_panel import AudioPanel
from .control_panels import PromptDeck, diffusion_panel, param_form
from .cue_panel import CuePanel
from .columns import Columns
from .tempo_widget import TempoWidget
from .fault_log import FaultLog
from .frame_view import FrameView
from .about import about_button
from .help_overlay import HelpOverlay, key_forms
from .hud import Hud
from .io_panel import OutputPanel, SourcePanel
from .midi_panel import MidiPanel
from .model_notice import ModelNotice
from .model_panel import ModelPanel
from .osc_monitor import OscMonitor
from .output_control import OutputControl
from .presets_panel import PresetsPanel
from .safety_bar import SafetyBar
from .style import STYLE

PREVIEW_HZ = 30
RIGHT_MIN = 600  # px: the control column (prompt rows: text, weight, tools) at its narrowest
HUD_HZ = 4


def _scroll(w: QWidget) -> QScrollArea:
    s = QScrollArea()
    s.setWidgetResizable(True)
    s.setWidget(w)
    return s


class MainWindow(QMainWindow):
    def __init__(self, session: Session, settings: QSettings | None = None):
        super().__init__()
        self.session = session
        self.settings = settings if settings is not None else QSettings("DreamDeck", "DreamDeck")
        self.setWindowTitle("DreamDeck")
        self.setStyleSheet(STYLE)
        self.bridge = ParamBridge(session.store, parent=self)
        self.bridge.error.connect(lambda m: self.statusBar().showMessage(m, 6000))
        self.started_at = time.monotonic()
        self.first_frame_s: float | None = None
        self._closed = False
        self._quit_confirmed = False
        self._asked_held: dict = {}

        central = QWidget()
        root = QVBoxLayout(central)
        root.setContentsMargins(6, 6, 6, 0)
        root.setSpacing(4)
        root.addLayout(self._top_row())
        root.addWidget(self.state_label)
        self.banner = ModelNotice()  # what the built-in model does, and how to load a diffusion model
        root.addWidget(self.banner)

        self.output_view = FrameView(self._output_frame, "OUTPUT")
        self.input_view = FrameView(self._input_frame, "INPUT")
        self.input_view.setMinimumSize(240, 135)
        self.input_view.setMaximumHeight(240)
        self.hud = Hud()

        left = QWidget()
        lcol = QVBoxLayout(left)
        lcol.setContentsMargins(0, 0, 0, 0)
        lcol.addWidget(self.output_view, 1)
        lcol.addWidget(self.hud)

        self.midi_panel = MidiPanel(session)
        self.bridge.learn = self.learn_midi  # right-click on any control: Learn MIDI
        self.bridge.forget = lambda name: self.midi_panel.forget(name)
        self.model_panel = ModelPanel(session, self.confirm)
        self.model_panel.loaded.connect(self._model_loaded)
        self.model_panel.failed.connect(lambda m: self.statusBar().showMessage(m, 15000))
        self.source_panel = SourcePanel(session, on_used=lambda spec: self.settings.setValue("last_source", spec))
        self.output_panel = OutputPanel(session, self.bridge, self.confirm)
        self.presets_panel = PresetsPanel(session, self.bridge)
        setup = QWidget()
        scol = QVBoxLayout(setup)
        for w in (self.model_panel, self.source_panel, self.output_panel):
            scol.addWidget(w)
        self.fresh_button = QPushButton("Fresh look: every value back to its default (model and output stay)")
        self.fresh_button.setToolTip("the show is saved as it goes and comes back after a restart; this starts the look "
                                     "clean (as 'dreamdeck --fresh' does at start)")
        self.fresh_button.clicked.connect(lambda: self.confirm_bar.ask(  # always asked: it changes what is on air
            "Reset the whole look to the defaults (safety, tempo, model and output stay)?",
            lambda: self.session.fresh_look(GUI)))
        scol.addWidget(self.fresh_button)
        scol.addStretch(1)
        self.tabs = QTabWidget()
        play = QWidget()
        pcol = QVBoxLayout(play)
        self.prompt_deck = PromptDeck(self.bridge)
        pcol.addWidget(self.prompt_deck)
        pcol.addWidget(diffusion_panel(self.bridge), 1)
        self.accel_box = param_form(self.bridge, "Acceleration", ["accel"], {"accel": "back end"})
        self.accel_box.setToolTip("what serves the UNet and autoencoder; a new back end is prepared (exported, compiled or "
                                  "built, then cached) while the current one keeps serving, and takes over between frames")
        self.accel_status = QLabel("eager")
        self.accel_status.setWordWrap(True)
        self.accel_box.layout().addRow(self.accel_status)
        pcol.addWidget(self.accel_box)
        self.tabs.addTab(_scroll(play), "Play")
        self.tabs.addTab(_scroll(setup), "Setup")
        self.tabs.addTab(_scroll(self.presets_panel), "Presets")
        self.cue_panel = CuePanel(session, self.bridge)
        self.cue_area = _scroll(self.cue_panel)
        self.audio_panel = AudioPanel(session, self.bridge)
        self.tabs.addTab(_scroll(self.audio_panel), "Audio")
        midi = QWidget()
        mcol = QVBoxLayout(midi)
        mcol.addWidget(self.midi_panel)
        mcol.addStretch(1)
        self.tabs.addTab(_scroll(midi), "MIDI")
        self.osc_monitor = OscMonitor(session.store, session.osc)
        self.tabs.addTab(self.osc_monitor, "OSC")
        self.fault_log = FaultLog()
        self.fault_tab = self.tabs.addTab(self.fault_log, "Faults")

        right = QWidget()
        rcol = QVBoxLayout(right)
        rcol.setContentsMargins(0, 0, 0, 0)
        rcol.addWidget(self.input_view)
        rcol.addWidget(self.tabs, 1)

        right.setMinimumWidth(RIGHT_MIN)  # the controls keep their room at 1280 px; the output preview gives way
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.columns = Columns(self.tabs, self.splitter, self.cue_area, RIGHT_MIN)  # NEXT: a tab, or a column when wide
        root.addWidget(self.splitter, 1)
        self.confirm_bar = ConfirmBar()
        root.addWidget(self.confirm_bar)
        self.safety = SafetyBar(self.bridge, session)
        root.addWidget(self.safety)
        self.setCentralWidget(central)

        self.help = HelpOverlay(central)
        self.shortcuts: list[QShortcut] = []
        for key, slot in self.action_keys():  # every action of the table that has a key, plus its Ctrl+ form
            self._shortcut(key, slot)
        for key in ("F1", "?"):
            self._shortcut(key, self.toggle_help)
        self._shortcut("Ctrl+L", self.live_button.toggle)
        self._shortcut("Esc", self.escape)  # dismisses: never panic

        self.statusBar().setSizeGripEnabled(False)  # there from the start: a first message never pushes the bar up
        self._restore()
        self._update_banner()
        self.preview_timer = QTimer(self)
        self.preview_timer.timeout.connect(self._refresh_previews)
        self.preview_timer.start(1000 // PREVIEW_HZ)
        self.hud_timer = QTimer(self)
        self.hud_timer.timeout.connect(self._refresh_hud)
        self.hud_timer.start(1000 // HUD_HZ)

    def _shortcut(self, key: str, slot) -> None:
        s = QShortcut(QKeySequence(key), self)
        s.setObjectName(f"key:{key}")
        s.activated.connect(slot)
        self.shortcuts.append(s)

    def action_keys(self) -> list[tuple[str, object]]:
        """(key, slot) of every action key, and for a letter key its Ctrl+ form, which acts even while a text field
        has the keyboard (there the letter types). The Output window takes them too."""
        return [(k, lambda n=a.name: self.run_action(n)) for key, a in shortcuts() for k in key_forms(key)]

    def escape(self) -> None:
        """Esc leaves things, never touches the show: the help, then an open question (answered no), then a field."""
        if self.help.isVisible():
            self.help.hide()
        elif self.confirm_bar.asking:
            self.confirm_bar.no_button.click()
        else:
            focus = QApplication.focusWidget()
            if focus is not None and focus.window() is self:
                focus.clearFocus()
                self.output_view.setFocus()  # the letters are the show's keys again

    def run_action(self, name: str, arg=None) -> bool:
        """Run an action of the table through the session, as OSC and MIDI do; a refusal goes to the status bar."""
        if name in ("panic", "release"):
            getattr(self.safety, name)()  # PANIC's message stays on the state line until a release
            return True
        try:
            result = self.session.trigger(name, arg, source=GUI)
        except Exception as e:
            self.statusBar().showMessage(str(e), 6000)
            return False
        if name in ("preset_next", "preset_previous") and result is not None:
            self.statusBar().showMessage(f"recalled {getattr(result, 'name', result)}", 4000)
        return True

    def learn_midi(self, name: str) -> bool:
        """Right-click -> Learn MIDI: the next control moved on the open port drives ``name``."""
        ok = self.midi_panel.learn(name)
        self.statusBar().showMessage(self.midi_panel.message, 8000)
        return ok

    # -- top row: live lock, help -------------------------------------------------------
    def _top_row(self) -> QHBoxLayout:
        row = QHBoxLayout()
        title = QLabel("<b style='font-size:18px; color:#9fc3ff'>DreamDeck</b>")
        row.addWidget(title)
        self.state_label = QLabel()
        # a long fault message is cut at the window's edge (the whole text is the tooltip); it never widens the window
        self.state_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        row.addStretch(1)  # the state line has a row of its own, under this one: the whole width is its
        self.tempo = TempoWidget(self.session, self.bridge)  # BPM, tap and the beat, always in sight
        row.addWidget(self.tempo)
        self.live_button = QPushButton("LIVE LOCK  [Ctrl+L]")
        self.live_button.setCheckable(True)
        self.live_button.toggled.connect(self.session.set_live_lock)  # the session holds reloads from every surface
        self.live_button.setToolTip("While on, every change that reloads (model, size, steps, output size or rate), from "
                                    "the console, OSC, MIDI or a preset, waits for a yes; quitting asks first")
        self.live_button.setStyleSheet("QPushButton { font-weight: bold; padding: 6px 14px; }"
                                       " QPushButton:checked { background: #d01818; color: white; }")
        row.addWidget(self.live_button)
        self.output_control = OutputControl(self._output_frame, self.action_keys,
                                            lambda m: self.statusBar().showMessage(m, 6000), self)
        self.screen_combo, self.output_button = self.output_control.screen_combo, self.output_control.button
        row.addWidget(self.screen_combo)
        row.addWidget(self.output_button)
        help_button = QPushButton("Keys F1")
        help_button.clicked.connect(self.toggle_help)
        row.addWidget(help_button)
        row.addWidget(about_button(self))
        return row

    @property
    def output_window(self):
        return self.output_control.window

    def set_output_window(self, on: bool) -> None:
        self.output_control.set_open(on)

    @property
    def live_locked(self) -> bool:
        return self.live_button.isChecked()

    def confirm(self, question: str, on_yes: Callable[[], None], on_no: Callable[[], None] | None = None) -> None:
        """Run ``on_yes`` at once when not live-locked; otherwise ask in the inline bar (never a modal dialog:
        the safety keys and buttons keep working while the question is open)."""
        if not self.live_locked:
            on_yes()
            return
        self.confirm_bar.ask(question, on_yes, on_no)

    # -- help overlay, frames and metrics -------------------------------------------------
    def toggle_help(self) -> None:
        self.help.toggle()

    def _output_frame(self):
        return self.session.preview.latest()[0]

    def _input_frame(self):
        tap = self.session.input_tap
        return tap.latest() if tap is not None and hasattr(tap, "latest") else None

    def _refresh_previews(self) -> None:
        self.output_view.refresh()
        self.input_view.refresh()
        self.output_control.refresh()
        if self.first_frame_s is None and self.output_view.frames_shown:
            self.first_frame_s = time.monotonic() - self.started_at

    def _refresh_hud(self) -> None:
        status = self.session.status()
        m = status.pipeline
        target = float(self.session.store.get("output_fps"))
        osc = status.osc
        self.hud.update_from(m, target, target, target, osc, self.osc_monitor.last_address)
        self.output_panel.update_status(m.sinks)
        if self.fault_log.update_from(m):
            self.tabs.setTabText(self.fault_tab, f"Faults ({self.fault_log.total})")
        self.hud.set_audio(*self.audio_panel.refresh(status.audio))
        self._show_accel(m.accel)
        self.hud.set_midi(*self.midi_panel.refresh())
        self.presets_panel.follow(getattr(self.session.show, "last_preset", None))
        if status.held != self._asked_held:  # a reload-class change from any surface waits for a yes (asked anew
            self._asked_held = dict(status.held)  # when what is held changes, so the question is what a yes applies)
            if status.held:
                self._ask_held(status.held)
        s = self.session.store.snapshot()
        badges = [n.upper().replace("_", " ") for n in ("blackout", "freeze", "passthrough", "fade_to_black") if s[n]]
        self.output_view.badge = "  ".join(badges)
        model_text = status.model.describe()
        source = (f"<span style='color:#ff6b6b'>source {status.source}: {m.source_problem}</span>"
                  if m.source_problem else f"source <b>{status.source}</b>")
        text = (f"&nbsp;&nbsp;{model_text} &nbsp;·&nbsp; {source} &nbsp;·&nbsp; out {s['output_size']} @ {s['output_fps']} fps"
                + (f" &nbsp;·&nbsp; <span style='color:#ff6b6b'>{self.safety.message}</span>" if self.safety.message else ""))
        if text != self.state_label.text():
            self.state_label.setText(text)
            self.state_label.setToolTip(text)

    def _show_accel(self, a) -> None:
        """The model stage's acceleration (engine.accel AccelStatus), or a grey line when it has none."""
        if a is None:
            text, tip = "<span style='color:#8a8a8a'>this model stage has no acceleration back ends</span>", ""
        else:
            text = f"serving: <b>{a.active}</b>"
            if a.preparing:
                pct = f" {a.progress * 100:.0f}%" if a.progress is not None else ""
                text += f" · preparing {a.preparing}{pct} {a.progress_message or ''} ({a.elapsed_s or 0:.0f} s)"
            if a.last_error:
                text += f"<br><span style='color:#ff6b6b'>{a.last_error}</span>"
            tip = a.status or ""  # e.g. the provider, threads and graph levels
        if text != self.accel_status.text():
            self.accel_status.setText(text)
            self.accel_status.setToolTip(tip)

    def _model_loaded(self, name: str) -> None:
        self._update_banner()
        self.settings.setValue("recent_models", self.model_panel.recent)

    def _update_banner(self) -> None:
        self.banner.show_for(self.session.store.get("model"))

    # -- persistence and closing ---------------------------------------------------------
    def _restore(self) -> None:
        geo = self.settings.value("geometry")
        if isinstance(geo, QByteArray):
            self.restoreGeometry(geo)
        else:
            self.resize(1600, 1000)
        split = self.settings.value("splitter")
        if isinstance(split, QByteArray) and self.splitter.restoreState(split):
            self.columns._dragged()  # the share the operator left: the columns keep it at every size
        recent = self.settings.value("recent_models") or []
        if isinstance(recent, str):
            recent = [recent]
        self.model_panel.set_recent([self.session.store.get("model"), *recent])
        self.live_button.setChecked(self.session.status().live_lock)  # as the show was left (the show file)

    def _save(self) -> None:
        self.settings.setValue("geometry", self.saveGeometry())
        self.settings.setValue("splitter", self.splitter.saveState())
        self.settings.setValue("recent_models", self.model_panel.recent)
        self.settings.sync()

    def resizeEvent(self, event) -> None:  # program and next side by side where there is room
        super().resizeEvent(event)
        self.columns.fit(self.width())

    def closeEvent(self, event) -> None:
        if not self._closed and self.live_locked and not self._quit_confirmed:
            event.ignore()
            self.confirm("Quit DreamDeck? The output stops.", self._quit)
            return
        self.shutdown()
        event.accept()

    def _ask_held(self, held: dict) -> None:
        what = ", ".join(f"{n} {v}" for n, v in held.items())
        self.confirm_bar.ask(f"Apply {what}? It reloads (a short pause).", lambda: self.session.answer_held(True),
                             lambda: self.bridge.resync(self.session.answer_held(False)))

    def _quit(self) -> None:
        self._quit_confirmed = True
        self.close()

    def shutdown(self) -> None:
        """Stop timers, cancel a model load, detach from the registry, stop the engine (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self.preview_timer.stop()
        self.hud_timer.stop()
        self.set_output_window(False)
        self.osc_monitor.close_monitor()
        self.audio_panel.stop()
        self.cue_panel.shutdown()
        self._save()
        self.model_panel.cancel()
        self.model_panel.detach()
        self.bridge.close()
        self.session.stop()
