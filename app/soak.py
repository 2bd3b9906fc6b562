"""``dreamdeck soak``: run the show for N minutes the way a night runs it, and measure what grows.

The show is the console's (``--console``: with its window under the current display; else
headless): the tiny model on a switching source, a recorder that is unplugged and comes
back, OSC traffic from another process (faders at 20 Hz, queries, preset lists, feedback),
preset recalls (every third one interrupted by the next), source switches (a file that is
missing included), blackout / freeze / passthrough, and a model reload now and then.
Once a second it samples memory, ``None``'s reference count, threads, descriptors, rates,
drops and faults into a CSV file, and at the end prints one summary line (and ``--json``,
one JSON object) with the verdict (see :mod:`app.soak_report` for the limits).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from .errors import UserError
from .soak_report import Sampler, evaluate, open_fds, summary_line, warmup_s


def add_soak_arguments(p) -> None:
    p.add_argument("--minutes", type=float, default=30.0, help="how long to run (default %(default)s)")
    p.add_argument("--console", action="store_true", help="run the console window too (needs a display, e.g. Xvfb)")
    p.add_argument("--csv", default="dreamdeck-soak.csv", metavar="PATH", help="one row a second (default %(default)s)")
    p.add_argument("--json", action="store_true", help="also print the result as one JSON object")
    p.add_argument("--model", default="tiny", help="the model to run and reload (default %(default)s)")
    p.add_argument("--size", default="64", help="model frame: long side or WIDTHxHEIGHT (default %(default)s)")
    p.add_argument("--out-size", default="640x360", help="output resolution (default %(default)s)")
    p.add_argument("--reload-every", type=float, default=300.0, metavar="SECONDS",
                   help="reload the model this often (default %(default)s; at least once in any run)")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class FlakySink:
    """A real recorder that the scenario unplugs (open and send fail) and plugs back in."""

    def __init__(self, path: Path):
        from engine.sinks.recorder import RecorderSink

        self.inner = RecorderSink(path)
        self.name = "recorder (unplugged now and then)"
        self.unplugged = False

    def availability(self):
        return "soak: the recorder's disk is unplugged" if self.unplugged else self.inner.availability()

    def open(self, width, height, fps):
        from engine.live.contracts import SinkError

        if self.unplugged:
            raise SinkError("soak: the recorder's disk is unplugged")
        self.inner.open(width, height, fps)

    def send(self, image, timestamp):
        from engine.live.contracts import SinkError

        if self.unplugged:
            raise SinkError("soak: the recorder's disk is unplugged")
        self.inner.send(image, timestamp)

    def close(self):
        self.inner.close()
        self.inner.frames = 0


class Scenario:
    """Drives the show once a second through the same calls the surfaces make."""

    def __init__(self, session, sources: list[str], model: str, reload_every: float, sink: FlakySink, counters,
                 period: float = 1.0, first_reload: float = 30.0):
        self.session, self.sources, self.model, self.reload_every, self.sink = session, sources, model, reload_every, sink
        self.period = period  # one step of the scenario; a short run steps faster so its warm-up sees every part once
        self.first_reload = first_reload
        self.counters = counters  # process counters: () -> {"threads": n, "fds": n}
        self.reloads: list[dict] = []
        self.actions = 0
        self.refused = 0  # sources refused (the missing file), the show kept its source
        self.errors: list[str] = []  # a step that raised: the show's controls failed, so the run fails
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="dreamdeck-soak-scenario", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(30.0)

    def use_source(self, spec: str) -> None:
        from .session import SessionError

        try:
            self.session.use_source(spec)
        except SessionError:  # a missing file is refused and the show keeps its source: what a VJ would see
            self.refused += 1

    def _reload(self, t0: float) -> None:
        host = self.session.model
        before = self.counters()
        done = host.state().loads
        if not host.load(self.model):
            return
        deadline = time.monotonic() + 300
        while host.state().loads == done and time.monotonic() < deadline and not self._stop.is_set():
            self._stop.wait(0.1)
        self._stop.wait(3.0)  # let the old model's threads and files go
        self.reloads.append({"at": round(time.monotonic() - t0, 1), "before": before, "after": self.counters(),
                             "error": host.state().error})

    def _run(self) -> None:
        store = self.session.store
        names = self.session.show.preset_names()
        t0 = time.monotonic()
        next_reload = t0 + self.first_reload
        k = 0
        while not self._stop.wait(self.period):
            k += 1
            try:
                self._step(k, names)
                self.actions += 1
            except Exception as e:
                self.errors.append(f"step {k}: {type(e).__name__}: {e}")
            if time.monotonic() >= next_reload:
                self._reload(t0)
                next_reload = time.monotonic() + self.reload_every
        for name in ("blackout", "freeze", "passthrough"):
            store.set(name, False)

    def _step(self, k: int, names: list[str]) -> None:
        store, show = self.session.store, self.session.show
        if k % 7 == 0 and names:
            show.recall_preset(names[(k // 7) % len(names)])
        if k % 21 == 1 and k > 1 and names:  # one step into the last recall's fade: interrupt it
            show.recall_preset(names[(k // 7 + 1) % len(names)])
        if k % 11 == 0:
            self.use_source(self.sources[(k // 11) % len(self.sources)])
        safety = ("blackout", "freeze", "passthrough")[k % 3]
        if k % 5 in (1, 2):
            store.set(safety, k % 5 == 1)
        if k % 40 == 30:
            self.sink.unplugged = True
        elif k % 40 == 35:
            self.sink.unplugged = False


def _fixtures(folder: Path) -> list[str]:
    """Sources to switch through: the pattern, a still, a still image, a short video, a file that is missing."""
    from engine.media.files import VideoWriter
    from engine.media.test_pattern import pattern_frame

    import cv2

    image = folder / "still.png"
    cv2.imwrite(str(image), cv2.cvtColor(pattern_frame(0.5, 320, 180), cv2.COLOR_RGB2BGR))
    video = folder / "clip.mp4"
    with VideoWriter(video, 15, (160, 90)) as w:
        for i in range(30):
            w.write(pattern_frame(i / 15, 160, 90))
    return ["pattern:static", f"image:{image}", f"file:{video}", f"file:{folder / 'missing.mp4'}", "pattern"]


def cmd_soak(a) -> int:
    from engine.params import ParamError
    from engine.params.catalog import engine_store

    from .flags import frame_text
    from .gui import build_session, display_available
    from .presets.store import PresetStore
    from .session import SessionConfig
    from .show_control import ShowControl

    if a.minutes <= 0:
        raise UserError(f"--minutes must be above 0; got {a.minutes}")
    if a.console:
        if not display_available():
            raise UserError("--console needs a display: run under Xvfb (xvfb-run dreamdeck soak --console) or drop --console")
        from ui.qt_platform import startup_problem

        unsafe = startup_problem()
        if unsafe:
            raise UserError(unsafe)
    seconds = a.minutes * 60.0
    store = engine_store()
    try:
        store.update({"size": a.size, "output_size": a.out_size, "output_fps": 30, "preset_fade_time": 2.0})
    except ParamError as e:
        raise UserError(str(e)) from None
    try:
        open(a.csv, "w").close()  # the samples must have somewhere to go before half an hour is spent
    except OSError as e:
        raise UserError(f"cannot write the samples to {a.csv}: {e.strerror or e} (choose another --csv path)") from None
    work = Path(tempfile.mkdtemp(prefix="dreamdeck-soak-"))
    sources = _fixtures(work)
    show = ShowControl(store, presets=PresetStore(work / "presets", params=store.params))
    feedback_port = _free_port()
    store.set("model", a.model)
    osc = {"osc_port": _free_port(), "osc_host": "127.0.0.1", "osc_feedback": f"127.0.0.1:{feedback_port}", "osc_allow": None}
    session = build_session(store, "pattern", show=show, config=SessionConfig(osc=osc))
    sink = FlakySink(work / "soak.mp4")
    session.add_sink(sink)
    session.start(load_model=False)
    port = session.osc.server.address[1]

    def counters() -> dict:
        import psutil

        return {"threads": psutil.Process().num_threads(), "fds": open_fds()}

    session.model.load(a.model)
    if not session.model.wait(300) or session.model.state().error:
        session.stop()
        shutil.rmtree(work, ignore_errors=True)
        raise UserError(f"model {a.model!r}: {session.model.state().error or 'did not load in 5 minutes'}")
    print(f"soak: {a.minutes:g} min, model {a.model} at {frame_text(store.snapshot().values)} -> {a.out_size}, OSC on 127.0.0.1:{port}"
          f"{', console window' if a.console else ', headless'}; samples -> {a.csv}", flush=True)
    driver = subprocess.Popen([sys.executable, "-m", "app.soak_driver", "--port", str(port), "--seconds", str(seconds),
                               "--listen", str(feedback_port)], stdout=subprocess.PIPE, text=True,
                              cwd=str(Path(__file__).resolve().parents[1]))
    sampler = Sampler(a.csv, lambda: session.status().pipeline, session.model.state)
    # the warm-up (app.soak_report) sees every step of the scenario and one model reload before growth is judged
    warm = warmup_s(seconds)
    scenario = Scenario(session, sources, a.model, min(a.reload_every, seconds / 2.0), sink, counters,
                        period=min(1.0, warm / 60.0), first_reload=warm / 2.0)
    stopped = []

    def wind_down() -> None:  # the drive and the samples stop while the show still runs, so no sample sees a teardown
        if not stopped:
            stopped.append(True)
            scenario.stop()
            sampler.stop()

    sampler.start()
    scenario.start()
    window_seen = None
    try:
        if a.console:
            window_seen = _run_window(session, seconds, wind_down)
        else:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                time.sleep(min(1.0, deadline - time.monotonic()))
    finally:
        wind_down()
        try:
            out, _ = driver.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            driver.kill()
            out, _ = driver.communicate()
        session.stop()
        shutil.rmtree(work, ignore_errors=True)
    result = evaluate(sampler.samples, scenario.reloads, seconds)
    if scenario.errors or sampler.errors:
        result["passed"] = False
        result["problems"] += [f"the scenario failed: {e}" for e in scenario.errors[:5]]
        result["problems"] += [f"sampling failed: {e}" for e in sampler.errors[:5]]
    result["scenario_steps"] = scenario.actions
    result["osc_driver"] = json.loads(out.strip().splitlines()[-1]) if out and out.strip() else None
    result["osc_server"] = session.osc.stats
    result["sources_refused"] = scenario.refused
    if window_seen is not None:  # the console: its window holds still under all that traffic
        result["window"] = window_seen
        if len(window_seen["geometries"]) > 1:
            result["passed"] = False
            result["problems"].append(f"the console window moved or changed size: {window_seen['geometries'][:4]}")
        if not window_seen["osc_addresses_shown"]:
            result["passed"] = False
            result["problems"].append("the HUD never showed an OSC address coming in")
    result["csv"] = os.path.abspath(a.csv)
    print(summary_line(result), flush=True)
    if a.json:
        print(json.dumps(result), flush=True)
    return 0 if result["passed"] else 1


def _run_window(session, seconds: float, wind_down) -> dict:
    """The console over the soak's show; returns what its window did: every geometry it took after the first
    second, and whether the HUD showed the OSC addresses coming in."""
    from PySide6.QtCore import QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from ui.main_window import MainWindow

    app = QApplication.instance() or QApplication(sys.argv[:1])
    # its own window settings: a layout the user saved (a narrow output column cut the HUD's OSC cell to
    # "OSC /dr…") neither changes what is measured nor is overwritten by the soak's window
    settings_dir = tempfile.mkdtemp(prefix="dreamdeck-soak-ui-")
    window = MainWindow(session, settings=QSettings(os.path.join(settings_dir, "ui.ini"), QSettings.Format.IniFormat))
    window.show()
    seen = {"geometries": [], "osc_addresses_shown": 0}

    def look() -> None:  # once a second: where the window is, and what the HUD's OSC cell says
        g = window.geometry().getRect()
        if not seen["geometries"] or seen["geometries"][-1] != g:
            seen["geometries"].append(g)
        if "/dreamdeck/" in window.hud.cells["osc"].text():
            seen["osc_addresses_shown"] += 1

    watch = QTimer()
    watch.timeout.connect(look)
    QTimer.singleShot(1000, lambda: watch.start(1000))  # after the window has settled on screen
    QTimer.singleShot(int(seconds * 1000), app.quit)
    try:
        app.exec()
    finally:
        watch.stop()
        wind_down()
        window.shutdown()
        shutil.rmtree(settings_dir, ignore_errors=True)
    return seen
