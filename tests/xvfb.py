"""A private X server for tests that need a real display (screen capture, the console on xcb)."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from types import SimpleNamespace

from system_deps import skip_unless_required


@contextlib.contextmanager
def xvfb(size: str = "320x240"):
    """Xvfb at ``size``: yields ``.display`` (':5') and ``.stop()``; ended on exit."""
    exe = shutil.which("Xvfb")
    if exe is None:
        skip_unless_required("Xvfb is not installed (apt-get install xvfb x11-xserver-utils)")
    read_fd, write_fd = os.pipe()
    proc = subprocess.Popen(
        [exe, "-displayfd", str(write_fd), "-screen", "0", f"{size}x24", "-nolisten", "tcp", "-noreset"],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        with os.fdopen(read_fd, "rb") as pipe:
            number = pipe.readline().strip()  # Xvfb writes the display number once it accepts clients
        if not number:
            skip_unless_required("Xvfb did not start")
        yield SimpleNamespace(display=f":{number.decode()}", stop=lambda: stop(proc))
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
