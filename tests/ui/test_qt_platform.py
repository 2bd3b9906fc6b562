"""The console on a real desktop: Qt's xcb plugin under Xvfb, and one clear line when its libraries are missing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from console_env import console_env
from xvfb import xvfb

from ui.qt_platform import debian_package, missing_libraries, problem

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("soname, package", [("libxcb-icccm.so.4", "libxcb-icccm4"), ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
                                             ("libxcb-cursor.so.0", "libxcb-cursor0"),
                                             ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
                                             ("libxcb-render-util.so.0", "libxcb-render-util0")])
def test_sonames_map_to_debian_packages(soname, package):
    assert debian_package(soname) == package


@pytest.mark.skipif(not shutil.which("cc") or not shutil.which("ldd"), reason="needs a C compiler and ldd")
def test_a_plugin_whose_library_is_missing_is_named(tmp_path):
    (tmp_path / "gone.c").write_text("int gone(void) { return 1; }\n")
    (tmp_path / "plugin.c").write_text("int gone(void);\nint plugin(void) { return gone(); }\n")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", "libdreamdeckgone.so.3", "-Wl,-soname,libdreamdeckgone.so.3", "gone.c"],
                   cwd=tmp_path, check=True)
    os.symlink("libdreamdeckgone.so.3", tmp_path / "libdreamdeckgone.so")
    subprocess.run(["cc", "-shared", "-fPIC", "-o", "libqfake.so", "plugin.c", "-L.", "-ldreamdeckgone"], cwd=tmp_path, check=True)
    for f in ("libdreamdeckgone.so.3", "libdreamdeckgone.so"):
        (tmp_path / f).unlink()  # the system "lacks" it now
    assert "libdreamdeckgone.so.3" in missing_libraries(tmp_path / "libqfake.so")
    assert debian_package("libdreamdeckgone.so.3") == "libdreamdeckgone3"


def test_only_the_x11_platform_is_checked(monkeypatch):
    monkeypatch.setenv("QT_QPA_PLATFORM", "offscreen")
    assert problem() is None


def test_the_console_starts_under_xvfb_with_the_xcb_platform(tmp_path):
    shot = tmp_path / "console.png"
    with xvfb("1600x1000") as x:
        env = console_env(DISPLAY=x.display, QT_QPA_PLATFORM="xcb", HOME=str(tmp_path),
                          XDG_CONFIG_HOME=str(tmp_path / "config"), DREAMDECK_DATA_DIR=str(tmp_path / "data"),
                          DREAMDECK_SCREENSHOT=f"{shot}@8")
        r = subprocess.run([sys.executable, "-m", "app.cli", "gui", "--source", "pattern", "--osc-port", "0"], cwd=ROOT,
                           env=env, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-1500:]
    assert "console up" in r.stdout and shot.is_file() and shot.stat().st_size > 10_000
    # the README's first command opens on the built-in styles: the output is the input painted, at 16:9, no bars
    assert "(model 'styles'" in r.stdout and "model styles ready" in r.stdout, r.stdout
    from engine.media.files import read_image

    out, raw = read_image(f"{shot}.output.png"), read_image(f"{shot}.input.png")
    assert out.shape == (720, 1280, 3)
    assert min(out[:, :6].mean(), out[:, -6:].mean(), out[:6].mean(), out[-6:].mean()) > 10  # no letterbox
    import cv2

    small_raw = cv2.resize(raw, (320, 180), interpolation=cv2.INTER_AREA).astype(float)
    small_out = cv2.resize(out, (320, 180), interpolation=cv2.INTER_AREA).astype(float)
    assert abs(small_raw - small_out).mean() > 12  # painted, not the input shown through
