"""Will Qt's X11 (xcb) platform plugin load here? Asked before Qt tries, so a missing system
library is one line naming the packages to install, not Qt's multi-line abort (rc 134).

Qt 6 needs a few xcb libraries that a stock Debian/Ubuntu desktop does not always have
(``libxcb-cursor0``, ``libxcb-icccm4``, ``libxcb-keysyms1``, ...). The plugin's own
dependencies are read with ``ldd``; libxcb-cursor, which Qt loads at run time, is looked
up by name.
"""

from __future__ import annotations

import ctypes.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

RUNTIME_LIBRARIES = {"xcb-cursor": "libxcb-cursor.so.0"}  # dlopen'ed by Qt 6.5+, so not in ldd's list


def debian_package(soname: str) -> str:
    """libxcb-icccm.so.4 -> libxcb-icccm4; libxkbcommon-x11.so.0 -> libxkbcommon-x11-0 (Debian's naming)."""
    m = re.match(r"(lib[\w.+-]+?)\.so\.(\d+)", soname)
    if not m:
        return soname
    name, version = m.groups()
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def _xcb_plugin() -> Path | None:
    try:
        import PySide6
    except ImportError:
        return None
    path = Path(PySide6.__file__).parent / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    return path if path.is_file() else None


def missing_libraries(plugin: Path | None = None) -> list[str]:
    """Shared libraries the xcb plugin needs that this system lacks (sonames, in order)."""
    plugin = plugin or _xcb_plugin()
    missing: list[str] = []
    if plugin is not None and shutil.which("ldd"):
        try:
            out = subprocess.run(["ldd", str(plugin)], capture_output=True, text=True, timeout=10).stdout
        except (OSError, subprocess.SubprocessError):
            out = ""
        for line in out.splitlines():
            if "not found" in line:
                name = line.split("=>")[0].strip()
                if name not in missing:
                    missing.append(name)
    for short, soname in RUNTIME_LIBRARIES.items():
        if ctypes.util.find_library(short) is None and soname not in missing:
            missing.append(soname)
    return missing


def uses_xcb() -> bool:
    """True where Qt would pick its X11 plugin: Linux, a DISPLAY, and no other platform asked for."""
    if not sys.platform.startswith("linux"):
        return False
    platform = os.environ.get("QT_QPA_PLATFORM", "").split(":")[0]
    if platform:
        return platform == "xcb"
    return bool(os.environ.get("DISPLAY")) and not os.environ.get("WAYLAND_DISPLAY")


def problem() -> str | None:
    """One line saying what to install when the console cannot open its window here; None when it can."""
    if not uses_xcb():
        return None
    missing = missing_libraries()
    if not missing:
        return None
    packages = " ".join(dict.fromkeys(debian_package(m) for m in missing))
    return (f"the console cannot open a window: Qt's X11 plugin needs {', '.join(missing)}; install them "
            f"(Debian/Ubuntu: sudo apt-get install {packages}) or run headless with 'dreamdeck live'")


def startup_problem() -> str | None:
    """What stops the console from opening here, or from lasting the night: one line, or None."""
    from . import refcount_check

    return problem() or refcount_check.problem()
