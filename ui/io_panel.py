"""Source picker and output panel: size / fps / fit, virtual camera, recorder."""

from __future__ import annotations

import time
from typing import Callable

from PySide6.QtWidgets import (QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel,
                               QLineEdit, QPushButton, QVBoxLayout, QWidget)

from .binding import GUI, make_control
from .file_pick import pick_file

PATTERNS = [("Test pattern (moving)", "pattern"), ("Test pattern (still)", "pattern:static"), ("Screen", "screen")]
FILE_ITEM, IMAGE_ITEM = "Video file…", "Image…"


class SourcePanel(QGroupBox):
    def __init__(self, session, parent: QWidget | None = None, on_used: Callable[[str], None] | None = None):
        super().__init__("Source", parent)
        self.session = session
        self.on_used = on_used  # told the spec of every source put on air (the window remembers the last)
        col = QVBoxLayout(self)
        row = QHBoxLayout()
        self.picker = QComboBox()
        # "Video file…" / "Image…" open the file dialog as soon as they are chosen (no extra click on Use)
        self.picker.activated.connect(lambda _: self.use_selected() if self.picker.currentData() in ("file:", "image:") else None)
        row.addWidget(self.picker, 1)
        rescan = QPushButton("Rescan")
        rescan.setToolTip("look for cameras again")
        rescan.clicked.connect(self.rescan)
        row.addWidget(rescan)
        apply = QPushButton("Use")
        apply.clicked.connect(self.use_selected)
        row.addWidget(apply)
        col.addLayout(row)
        self.region = QLineEdit()
        self.region.setPlaceholderText("screen region: left,top,width,height or a monitor number (empty: whole screen)")
        self.region.setToolTip("used when 'Screen' is chosen")
        col.addWidget(self.region)
        self.status = QLabel()
        self.status.setWordWrap(True)
        col.addWidget(self.status)
        self.rescan(cameras=None)
        self._show(session.source_spec)

    def rescan(self, cameras: list[dict] | None = None) -> None:
        if cameras is None or cameras is False:
            from engine.sources import list_cameras

            cameras = list_cameras()
        self.picker.clear()
        for c in cameras:
            self.picker.addItem(f"Camera {c['index']}: {c.get('name') or 'camera'} ({c['width']}x{c['height']})", f"camera:{c['index']}")
        for text, spec in PATTERNS:
            self.picker.addItem(text, spec)
        self.picker.addItem(FILE_ITEM, "file:")
        self.picker.addItem(IMAGE_ITEM, "image:")
        i = self.picker.findData(self.session.source_spec)
        if i >= 0:
            self.picker.setCurrentIndex(i)

    def use_selected(self) -> None:
        spec = self.picker.currentData()
        if spec in ("file:", "image:"):
            filt = "Videos (*.mp4 *.mov *.mkv *.avi *.webm);;All files (*)" if spec == "file:" else "Images (*.png *.jpg *.jpeg *.webp *.bmp)"
            pick_file(self, "Source", filt, lambda path, kind=spec: self.use(kind + path))  # never blocks the show
            return
        elif spec == "screen" and self.region.text().strip():
            spec = "screen:" + self.region.text().strip().replace(" ", "")
        self.use(spec)

    def use(self, spec: str) -> bool:
        try:
            self.session.use_source(spec)
        except Exception as e:  # the session's one line: why this source cannot run here (the show keeps the old one)
            self.status.setText(f"<span style='color:#ff6b6b'>{e}</span>")
            return False
        self._show(spec)
        if self.on_used is not None:
            self.on_used(spec)
        return True

    def _show(self, spec: str) -> None:
        self.status.setText(f"input: <b>{spec}</b>")


def fit_extension(name: str, codec: str) -> str:
    """``name`` with an extension that holds ``codec`` (kept when it already does)."""
    from engine.media.codecs import CODECS

    spec = CODECS.get(codec)
    stem, dot, ext = name.strip().rpartition(".")
    if spec is None or not dot or f".{ext.lower()}" in spec.extensions:
        return name
    return f"{stem}{spec.extensions[0]}"


class OutputPanel(QGroupBox):
    def __init__(self, session, bridge, confirm: Callable[..., None], parent: QWidget | None = None):
        super().__init__("Output", parent)
        self.session = session
        self.confirm = confirm
        self.vcam = None  # the virtual camera sink's name while it runs
        self.recorder = None  # the recorder sink's name while it records
        form = QFormLayout(self)
        self.bridge = bridge
        self.size_box = make_control(bridge, "output_size")
        self.size_box.setToolTip(self.size_box.toolTip() + "\n(restarts the output side: a short pause; asks first when live-locked)")
        form.addRow("size", self.size_box)
        self.fps_box = make_control(bridge, "output_fps")
        self.fps_box.setToolTip(self.fps_box.toolTip() + "\n(restarts the output side: a short pause; asks first when live-locked)")
        form.addRow("fps", self.fps_box)
        self.apply_button = QPushButton("Apply size / fps (restarts output)")
        self.apply_button.setToolTip("A size or fps set by OSC, MIDI or a preset waits here until applied")
        self.apply_button.clicked.connect(self.apply_output)
        self.apply_button.hide()
        form.addRow(self.apply_button)
        bridge.changed.connect(self._param_changed)
        form.addRow("fit", make_control(bridge, "fit_mode"))
        self.vcam_box = QCheckBox("Virtual camera")
        self.vcam_box.toggled.connect(self.set_vcam)
        form.addRow(self.vcam_box)
        self.vcam_status = QLabel("off")
        self.vcam_status.setWordWrap(True)
        form.addRow(self.vcam_status)
        self.codec_box = make_control(bridge, "record_codec")
        form.addRow("codec", self.codec_box)
        rec = QHBoxLayout()
        self.rec_name = QLineEdit(fit_extension(time.strftime("dreamdeck-%Y%m%d-%H%M%S.mp4"), session.store.get("record_codec")))
        rec.addWidget(self.rec_name, 1)
        self.rec_button = QPushButton("● Record")
        self.rec_button.setCheckable(True)
        self.rec_button.toggled.connect(self.set_recording)
        rec.addWidget(self.rec_button)
        form.addRow("file", rec)
        self.rec_status = QLabel("")
        self.rec_status.setWordWrap(True)
        form.addRow(self.rec_status)

    # -- output size / fps -------------------------------------------------------------------
    def running_output(self) -> tuple[tuple[int, int] | None, float | None]:
        out = self.session.status().output
        return out if out is not None else (None, None)

    def wanted_output(self) -> tuple[tuple[int, int], float]:
        from engine.live.pipeline import parse_size

        store = self.session.store
        return parse_size(store.get("output_size")), float(store.get("output_fps"))

    def output_pending(self) -> bool:
        size, fps = self.running_output()
        return size is not None and (size, fps) != self.wanted_output()

    def _param_changed(self, name: str, value, source) -> None:
        if name == "record_codec":  # the file name follows: ProRes and HAP live in .mov, H.264 in .mp4
            self.rec_name.setText(fit_extension(self.rec_name.text(), value))
            return
        if name not in ("output_size", "output_fps"):
            return
        if self.output_pending() and source == GUI:
            self.apply_output()  # the operator changed it here: apply now (after the live-lock question)
        self.apply_button.setVisible(self.output_pending())

    def apply_output(self) -> None:
        """Restart the output side at the registry's output_size / output_fps (asks first when live-locked; a "no"
        puts the values back to what runs)."""
        if not self.output_pending():
            self.apply_button.hide()
            return
        (w, h), fps = self.wanted_output()
        self.confirm(f"Change the output to {w}x{h} @ {fps:g} fps? The output restarts (a short pause).",
                     self._restart_output, self._keep_output)

    def _keep_output(self) -> None:
        (rw, rh), rfps = self.running_output()
        self.bridge.write({"output_size": f"{rw}x{rh}", "output_fps": int(rfps)})  # back to what runs
        self.apply_button.hide()

    def _restart_output(self) -> None:
        if not self.output_pending():
            return
        if self.recorder is not None:  # a recording is one size: finish (save) it before the change
            self.rec_button.setChecked(False)
        self.session.apply_output()
        self.apply_button.hide()

    def set_vcam(self, on: bool) -> None:
        if not on:
            if self.vcam is not None:
                self.session.remove_sink(self.vcam)
                self.vcam = None
            self.vcam_status.setText("off")
            return
        try:
            self.vcam = self.session.add_sink("vcam")
        except Exception as e:  # no virtual camera here: the session says what to install
            self.vcam_status.setText(f"<span style='color:#ff6b6b'>unavailable: {e}</span>")
            self.vcam_box.blockSignals(True)
            self.vcam_box.setChecked(False)
            self.vcam_box.blockSignals(False)
            return
        self.vcam_status.setText("starting…")

    def set_recording(self, on: bool) -> None:
        if not on:
            if self.recorder is not None:
                sink = self.session.sink(self.recorder)
                self.session.remove_sink(self.recorder)
                if sink is not None:
                    self.rec_status.setText(f"saved {sink.path} ({sink.frames} frames)")
                self.recorder = None
            self._next_take()
            self.rec_button.setText("● Record")
            return
        from engine.media.files import free_name

        typed = self.rec_name.text().strip()
        path = str(free_name(typed)) if typed else typed  # a new take never replaces the last one
        if path != typed:
            self.rec_name.setText(path)
        try:
            self.recorder = self.session.add_sink(f"record:{path}")
        except Exception as e:  # a path the writer would refuse: one line, nothing starts
            self.rec_status.setText(f"<span style='color:#ff6b6b'>{e}</span>")
            self.rec_button.blockSignals(True)
            self.rec_button.setChecked(False)
            self.rec_button.blockSignals(False)
            return
        self.rec_button.setText("■ Stop")
        self.rec_status.setText(f"recording {path} ({self._what_is_recorded()})")

    def update_status(self, sinks) -> None:
        if self.vcam is not None:
            st = sinks.get(self.vcam, "starting")
            sink = self.session.sink(self.vcam)
            where = (getattr(sink, "device_in_use", None) or "") if sink is not None else ""
            colour = "#3ad36a" if st.startswith(("running", "ok", "open")) else "#f0c419"
            self.vcam_status.setText(f"<span style='color:{colour}'>{st} {where}</span>")
        if self.recorder is not None:
            sink = self.session.sink(self.recorder)
            if sink is None:  # finished by the session (the output changed size or rate): saved, not lost
                self.recorder = None
                self.rec_button.blockSignals(True)
                self.rec_button.setChecked(False)
                self.rec_button.blockSignals(False)
                self.rec_button.setText("● Record")
                self.rec_status.setText("recording saved: the output changed size or rate")
                self._next_take()
            else:
                self.rec_status.setText(f"recording {sink.path.name} ({self._what_is_recorded()}): {sink.frames} frames "
                                        f"({sinks.get(self.recorder, '')})")

    def _next_take(self) -> None:
        """The file name for the next take: a fresh time stamp for the default name, else NAME-2, NAME-3..."""
        from engine.media.files import free_name

        name = self.rec_name.text().strip()
        if name.startswith("dreamdeck-") and name[10:18].isdigit():
            name = fit_extension(time.strftime("dreamdeck-%Y%m%d-%H%M%S.mp4"), self.session.store.get("record_codec"))
        self.rec_name.setText(str(free_name(name)) if name else name)

    def _what_is_recorded(self) -> str:
        """``H.264 (libx264) + sound`` as the recorder reports it once its file is open."""
        sink = self.session.sink(self.recorder) if self.recorder is not None else None
        describe = getattr(sink, "describe", None)
        return describe() if callable(describe) else "starting"
