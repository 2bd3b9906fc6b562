"""The audio tab: where the sound comes from and goes to, and where it sits around the listener's head.

The binaural parameters are ordinary registry parameters (OSC, MIDI and presets
reach them too); this panel adds the devices and the start/stop of the session's
audio engine, which runs on its own threads and never blocks the window.
"""

from __future__ import annotations

from PySide6.QtWidgets import (QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton,
                               QVBoxLayout, QWidget)

from .control_panels import param_form
from .file_pick import pick_file

NONE_ITEM, FILE_ITEM = "None (silence)", "Sound file…"
SOURCE_ITEM = "The video on air (its own sound, in sync)"
GREY, RED, GREEN, AMBER = "#8a8a8a", "#ff6b6b", "#7bd88f", "#ffcc66"


class AudioPanel(QWidget):
    def __init__(self, session, bridge, parent: QWidget | None = None):
        super().__init__(parent)
        self.session = session  # owns the audio engine: start_audio / stop_audio, status().audio
        self._wanted = False
        self._shown = ""
        self._file: str | None = None
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)

        io = QGroupBox("Audio in and out (48 kHz)")
        form = QFormLayout(io)
        self.input_picker = QComboBox()
        self.input_picker.setToolTip("the mono sound to place around the listener: a microphone or line input, a sound file (looped), or the sound of "
                                     "the video file on air (heard when its pictures are shown)")
        self.input_picker.activated.connect(self._input_chosen)
        self.output_picker = QComboBox()
        self.output_picker.setToolTip("headphones, an interface, or a virtual cable (VB-Cable, BlackHole, a PulseAudio sink) into OBS")
        form.addRow("input", self.input_picker)
        form.addRow("output", self.output_picker)
        row = QHBoxLayout()
        rescan = QPushButton("Rescan")
        rescan.setToolTip("look for audio devices again (a device plugged in after start)")
        rescan.clicked.connect(self.rescan)
        self.run_button = QPushButton("Start audio")
        self.run_button.setCheckable(True)
        self.run_button.toggled.connect(self._toggled)
        row.addWidget(rescan)
        row.addWidget(self.run_button, 1)
        form.addRow(row)
        self.status = QLabel("audio off")
        self.status.setWordWrap(True)
        form.addRow(self.status)
        col.addWidget(io)

        col.addWidget(param_form(bridge, "Placement around the head",
                                 ["audio_renderer", "audio_azimuth", "audio_elevation", "audio_distance", "audio_orbit",
                                  "audio_orbit_speed", "audio_room"],
                                 {"audio_renderer": "renderer", "audio_azimuth": "azimuth", "audio_elevation": "elevation",
                                  "audio_distance": "distance", "audio_orbit": "orbit", "audio_orbit_speed": "orbit speed",
                                  "audio_room": "room"}))
        col.addWidget(param_form(bridge, "Level and sync", ["audio_gain", "audio_mute", "av_delay"],
                                 {"audio_gain": "gain", "audio_mute": "mute", "av_delay": "A/V delay"}))
        col.addStretch(1)
        self.rescan()

    # -- devices -------------------------------------------------------------------------
    def rescan(self) -> None:
        keep_in, keep_out = self.input_picker.currentData(), self.output_picker.currentData()
        self.input_picker.clear()
        self.output_picker.clear()
        self.input_picker.addItem(NONE_ITEM, "none")
        self.input_picker.addItem(SOURCE_ITEM, "source")
        self.input_picker.addItem(FILE_ITEM, "file")
        if self._file:
            self.input_picker.addItem(f"file: {self._file}", f"file:{self._file}")
        self.output_picker.addItem("System default", None)
        try:
            from engine.audio.devices import list_devices, pulse_endpoints

            devices = list_devices()
            for d in devices:
                tag = " (virtual)" if d.virtual else ""
                if d.inputs > 0:
                    self.input_picker.addItem(f"{d.name}{tag}", f"device:{d.name}")
                if d.outputs > 0:
                    self.output_picker.addItem(f"{d.name}{tag}", d.name)
            names = {d.name for d in devices}
            for sink in pulse_endpoints("output"):
                if sink not in names:
                    self.output_picker.addItem(f"{sink} (PulseAudio)", sink)
            for src in pulse_endpoints("input"):
                if src not in names:
                    self.input_picker.addItem(f"{src} (PulseAudio)", f"device:{src}")
        except Exception as e:  # no PortAudio: say what to install, keep the panel usable
            if not self._wanted:
                self.status.setText(f"<span style='color:{RED}'>{e}</span>")
        for picker, keep in ((self.input_picker, keep_in), (self.output_picker, keep_out)):
            i = picker.findData(keep)
            if i >= 0:
                picker.setCurrentIndex(i)

    def _input_chosen(self, index: int) -> None:
        if self.input_picker.itemData(index) != "file":
            return
        self.input_picker.setCurrentIndex(0)  # until a file is chosen (the chooser never blocks the show)
        pick_file(self, "Sound file", "Sound (*.wav *.flac *.ogg *.aiff *.aif *.mp3)", self.use_file)

    def use_file(self, path: str) -> None:
        self._file = path
        self.rescan()
        self.input_picker.setCurrentIndex(self.input_picker.findData(f"file:{path}"))

    # -- engine ----------------------------------------------------------------------------
    def _toggled(self, on: bool) -> None:
        if on:
            self.start()
        else:
            self.stop()

    def start(self) -> None:
        """Start the session's audio with the chosen input and output (devices open on a thread of the session's)."""
        spec, out = self.input_picker.currentData(), self.output_picker.currentData()
        self._set_status("starting…")
        self.run_button.setText("Stop audio")
        self._wanted = True
        try:
            self.session.start_audio(spec if spec != "file" else None, out, background=True)
        except Exception as e:
            self._failed(str(e))

    def stop(self) -> None:
        self._wanted = False
        self.session.stop_audio()
        self.run_button.blockSignals(True)
        self.run_button.setChecked(False)
        self.run_button.blockSignals(False)
        self.run_button.setText("Start audio")
        self._set_status("audio off")

    def _failed(self, error: str) -> None:
        self.stop()
        self._set_status(f"<span style='color:{RED}'>audio did not start: {error}</span>")

    def _set_status(self, html: str) -> None:
        if html != self._shown:  # four times a second: the label changes only when its text does
            self._shown = html
            self.status.setText(html)

    def refresh(self, state=None) -> tuple[str, str]:
        """Update the status line from the session's audio state; returns (short HUD text, colour).
        Called by the window's HUD timer with the status it already holds."""
        state = state if state is not None else self.session.status().audio
        if state.running is None:
            if self._wanted and not state.starting and state.error:
                self._failed(state.error)
            if state.starting:
                return "AUD …", AMBER
            return "AUD off", GREY
        s = state.running
        trouble = s.fallback_reason or (s.device_status if s.device_status not in ("running", "open") else None)
        colour = RED if s.xruns or (s.device_status or "").startswith(("lost", "render error")) else (AMBER if trouble else GREEN)
        load = f", load {s.render_load:.0%}" if s.render_load is not None else ""
        self._set_status(
            f"<span style='color:{colour}'>{s.input} → <b>{s.renderer}</b> → {s.device}: {s.device_status}"
            f"; buffer {s.buffer_ms:.0f} ms{load}; xruns {s.xruns}, underruns {s.underruns}</span>"
            + (f"<br>{s.fallback_reason}" if s.fallback_reason else ""))
        return f"AUD {s.renderer} XR {s.xruns}", colour
