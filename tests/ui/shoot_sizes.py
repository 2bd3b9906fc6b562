"""Screenshots of the console at the three sizes issue 15 names, for docs/ (run under Xvfb with the xcb platform):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/ui/shoot_sizes.py docs

The real console on its default model (the built-in styles, blending two of them) over a public-domain
photograph (scikit-image's astronaut, at 16:9), with OSC traffic shown in the HUD, is resized to each size, runs a
few seconds, and is grabbed to docs/console-WxH.png; the 1600x1000 one is also docs/screenshot.png.
"""

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT)]
SIZES = [(1280, 720), (1600, 1000), (1920, 1080)]


def main(out: Path) -> None:
    os.environ.setdefault("QT_QPA_PLATFORM", "xcb")
    os.environ["DREAMDECK_DATA_DIR"] = tempfile.mkdtemp()
    from PySide6.QtCore import QSettings
    from PySide6.QtWidgets import QApplication

    app = QApplication([])
    from app.gui import build_session
    from app.session import SessionConfig
    from engine.params.catalog import engine_store
    from ui.main_window import MainWindow

    from skimage import data

    from engine.frame_size import to_model_frame
    from engine.media.files import write_image

    photo = Path(os.environ["DREAMDECK_DATA_DIR"]) / "astronaut.png"
    write_image(photo, to_model_frame(data.astronaut(), 1280, 720))
    store = engine_store()
    store.update({"model": "styles", "size": "384", "strength": 1.0, "prompt.1.text": "blue-night",
                  "prompt.2.text": "golden-lines", "prompt.2.weight": 0.3})
    session = build_session(store, f"image:{photo}", config=SessionConfig(osc=None, midi_api="LINUX_ALSA"))
    session.start()
    window = MainWindow(session, settings=QSettings(os.environ["DREAMDECK_DATA_DIR"] + "/ui.ini", QSettings.Format.IniFormat))
    window.show()
    session.model.wait(120)
    for w, h in SIZES:
        window.resize(w, h)
        window.move(0, 0)
        window.osc_monitor.last_address = "/dreamdeck/prompt/1/weight"
        end = time.monotonic() + 12
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
        path = out / f"console-{w}x{h}.png"
        window.grab().save(str(path))
        if (w, h) == (1600, 1000):
            window.grab().save(str(out / "screenshot.png"))
        m = session.status().pipeline
        print(f"{path}: window {window.width()}x{window.height()}; generate {m.generate_fps:.1f} fps, "
              f"output {m.output_fps:.1f} fps, latency {m.latency_ms or 0:.0f} ms")
    window.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
