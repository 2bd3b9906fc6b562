"""Screenshots of the console at the three sizes issue 15 names, for docs/ (run under Xvfb with the xcb platform):

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/ui/shoot_sizes.py docs

The real console (tiny model, moving test pattern, OSC traffic shown in the HUD) is resized to each size, runs
a few seconds, and is grabbed to docs/console-WxH.png.
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

    store = engine_store()
    store.update({"size": 256, "prompt.1.text": "a neon jellyfish in deep water", "prompt.2.text": "oil painting",
                  "prompt.2.weight": 0.4})
    session = build_session(store, "pattern", config=SessionConfig(osc=None, midi_api="LINUX_ALSA"))
    session.start()
    window = MainWindow(session, settings=QSettings(os.environ["DREAMDECK_DATA_DIR"] + "/ui.ini", QSettings.Format.IniFormat))
    window.show()
    session.model.wait(120)
    for w, h in SIZES:
        window.resize(w, h)
        window.move(0, 0)
        window.osc_monitor.last_address = "/dreamdeck/prompt/1/weight"
        end = time.monotonic() + 5
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
        path = out / f"console-{w}x{h}.png"
        window.grab().save(str(path))
        print(f"{path}: window {window.width()}x{window.height()}")
    window.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs"))
