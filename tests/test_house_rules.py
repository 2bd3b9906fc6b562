"""House rules a machine can check."""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
QT = ("PySide6", "PyQt5", "PyQt6", "qtpy", "superqt", "shiboken6")


def _imports(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def test_engine_source_imports_no_qt_and_no_outer_layers():
    offenders = []
    for f in (ROOT / "engine").rglob("*.py"):
        for mod in _imports(f):
            top = mod.split(".")[0]
            if top in QT or top in ("app", "ui"):
                offenders.append(f"{f.relative_to(ROOT)} imports {mod}")
    assert not offenders, offenders


def test_importing_the_engine_loads_no_qt():
    code = (
        "import sys, pkgutil, importlib, engine\n"
        "for m in pkgutil.walk_packages(engine.__path__, 'engine.'):\n"
        "    importlib.import_module(m.name)\n"
        f"bad = [m for m in sys.modules if m.split('.')[0] in {QT!r}]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
