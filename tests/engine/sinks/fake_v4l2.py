"""A v4l2loopback output device made of a FUSE file, for tests on a kernel without V4L2.

pyvirtualcam's native Linux backend opens the device path it is given
(``open(path, O_WRONLY | O_SYNC)``), asks ``VIDIOC_QUERYCAP`` (it needs the
driver name ``"v4l2 loopback"`` and the ``V4L2_CAP_VIDEO_OUTPUT`` bit), sets the
output format with ``VIDIOC_S_FMT`` and then ``write()``s one whole frame per
call.  FUSE passes ioctls whose size and direction are encoded in the command
number (both of these are) through to the file system, so a FUSE file is enough
for the real native code to run end to end.

The FUSE server runs in a child process: pyvirtualcam's native calls hold the
GIL while they block in ``ioctl``/``write``, so a server thread in the same
interpreter could never answer them.  The server records every ioctl and
release as JSON lines and every written byte at its file offset, in a record
folder the test reads afterwards.

Run as ``python fake_v4l2.py MOUNTPOINT RECORD_DIR [DEVICE_NAME [DRIVER [OUTPUT 1|0]]]``;
:func:`fake_v4l2loopback` does that and cleans up.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import stat
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

# --- the kernel ABI the native backend speaks (linux/videodev2.h, x86-64 / arm64) ---

CAPABILITY_SIZE = 104  # struct v4l2_capability
FORMAT_SIZE = 208  # struct v4l2_format: u32 type, 4 bytes padding, 200-byte union


def _ioc(direction: int, kind: str, nr: int, size: int) -> int:
    return (direction << 30) | (size << 16) | (ord(kind) << 8) | nr


VIDIOC_QUERYCAP = _ioc(2, "V", 0, CAPABILITY_SIZE)  # _IOR('V', 0, struct v4l2_capability) = 0x80685600
VIDIOC_S_FMT = _ioc(3, "V", 5, FORMAT_SIZE)  # _IOWR('V', 5, struct v4l2_format) = 0xc0d05605

V4L2_BUF_TYPE_VIDEO_OUTPUT = 2
V4L2_CAP_VIDEO_CAPTURE = 0x00000001
V4L2_CAP_VIDEO_OUTPUT = 0x00000002
V4L2_CAP_EXT_PIX_FORMAT = 0x00200000
V4L2_CAP_READWRITE = 0x01000000
V4L2_CAP_STREAMING = 0x04000000
V4L2_CAP_DEVICE_CAPS = 0x80000000
V4L2_FIELD_NONE = 1
V4L2_COLORSPACE_SRGB = 8


def fourcc(code: str) -> int:
    return int.from_bytes(code.encode("ascii"), "little")


def fourcc_name(value: int) -> str:
    return value.to_bytes(4, "little").decode("ascii", "replace")


# Bytes per frame for the formats pyvirtualcam may set (its own size rules).
FRAME_BYTES = {
    "YU12": lambda w, h: (w + w // 2) * h,  # V4L2_PIX_FMT_YUV420 (I420)
    "NV12": lambda w, h: (w + w // 2) * h,
    "YUYV": lambda w, h: 2 * w * h,
    "UYVY": lambda w, h: 2 * w * h,
    "GREY": lambda w, h: w * h,
}
BYTES_PER_LINE = {"YU12": 1, "NV12": 1, "YUYV": 2, "UYVY": 2, "GREY": 1}


def capability_bytes(driver: str, card: str, output: bool = True) -> bytes:
    """What QUERYCAP answers.  A real v4l2loopback made with exclusive_caps=1 stops announcing
    VIDEO_OUTPUT (and announces VIDEO_CAPTURE instead) while another app is writing to it."""
    direction = V4L2_CAP_VIDEO_OUTPUT if output else V4L2_CAP_VIDEO_CAPTURE
    device_caps = direction | V4L2_CAP_EXT_PIX_FORMAT | V4L2_CAP_READWRITE | V4L2_CAP_STREAMING
    return struct.pack(
        "<16s32s32sIII12x",
        driver.encode(), card.encode(), b"platform:v4l2loopback-009",
        (6 << 16) | (18 << 8),  # "kernel version" the driver reports
        device_caps | V4L2_CAP_DEVICE_CAPS,
        device_caps,
    )


# --- the FUSE server (child process) ---


def serve(mountpoint: str, record_dir: str, device_name: str = "video9", driver: str = "v4l2 loopback",
          output: str = "1") -> None:
    import mfusepy as fuse  # noqa: PLC0415  (only the child process needs libfuse)

    record = Path(record_dir)
    events = open(record / "events.jsonl", "a", buffering=1)
    stream = open(record / "stream.bin", "wb", buffering=0)
    device_path = "/" + device_name

    def log(kind: str, **fields) -> None:
        events.write(json.dumps({"event": kind, "t": time.monotonic(), **fields}) + "\n")

    class LoopbackDevice(fuse.Operations):
        use_ns = True

        def __init__(self) -> None:
            self.next_fh = 1

        def getattr(self, path, fh=None):
            if path == "/":
                return {"st_mode": stat.S_IFDIR | 0o755, "st_nlink": 2}
            if path == device_path:
                return {"st_mode": stat.S_IFREG | 0o666, "st_nlink": 1, "st_size": 0}
            raise fuse.FuseOSError(errno.ENOENT)

        def readdir(self, path, fh):
            return [".", "..", device_name]

        def open(self, path, flags):
            if path != device_path:
                raise fuse.FuseOSError(errno.ENOENT)
            fh = self.next_fh
            self.next_fh += 1
            log("open", fh=fh, flags=flags, accmode=flags & os.O_ACCMODE)
            return fh

        def truncate(self, path, length, fh=None):
            return 0

        def ioctl(self, path, cmd, arg, fh, flags, data):
            cmd &= 0xFFFFFFFF
            if cmd == VIDIOC_QUERYCAP:
                payload = capability_bytes(driver, "DreamDeck", output=output == "1")
                ctypes.memmove(data, payload, len(payload))
                log("ioctl", fh=fh, name="VIDIOC_QUERYCAP", cmd=cmd)
                return 0
            if cmd == VIDIOC_S_FMT:
                raw = bytearray(ctypes.string_at(data, FORMAT_SIZE))
                buf_type = struct.unpack_from("<I", raw, 0)[0]
                width, height, pixfmt = struct.unpack_from("<III", raw, 8)
                name = fourcc_name(pixfmt)
                log("ioctl", fh=fh, name="VIDIOC_S_FMT", cmd=cmd, type=buf_type, width=width, height=height,
                    pixelformat=name)
                if buf_type != V4L2_BUF_TYPE_VIDEO_OUTPUT or name not in FRAME_BYTES or not width or not height:
                    raise fuse.FuseOSError(errno.EINVAL)
                # What the driver fills in: field, bytesperline, sizeimage, colorspace.
                struct.pack_into("<IIII", raw, 20, V4L2_FIELD_NONE, width * BYTES_PER_LINE[name],
                                 FRAME_BYTES[name](width, height), V4L2_COLORSPACE_SRGB)
                ctypes.memmove(data, bytes(raw), FORMAT_SIZE)
                return 0
            log("ioctl", fh=fh, name="unknown", cmd=cmd)
            raise fuse.FuseOSError(errno.ENOTTY)

        def write(self, path, data, offset, fh):
            stream.seek(offset)
            stream.write(data)
            log("write", fh=fh, offset=offset, size=len(data))
            return len(data)

        def flush(self, path, fh):
            return 0

        def fsync(self, path, datasync, fh):
            return 0

        def release(self, path, fh):
            log("release", fh=fh)
            return 0

    log("serving", pid=os.getpid())
    # Single-threaded, in the foreground; direct_io so that each write() reaches
    # us as written (not through the page cache).
    fuse.FUSE(LoopbackDevice(), mountpoint, foreground=True, nothreads=True, direct_io=True,
              fsname="fake-v4l2loopback")
    log("stopped")


# --- the test side ---


def is_mounted(mountpoint: Path) -> bool:
    target = os.path.realpath(mountpoint)
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == target for line in f)


def fuse_unavailable_reason() -> str | None:
    """Why FUSE cannot be used here, or None."""
    from ctypes.util import find_library  # noqa: PLC0415

    if not (find_library("fuse3") or find_library("fuse")):
        return "libfuse is not installed (sudo apt-get install fuse3)"
    if not os.path.exists("/dev/fuse"):
        return "/dev/fuse does not exist on this machine (no FUSE support in the kernel)"
    try:
        fd = os.open("/dev/fuse", os.O_RDWR)
    except OSError as e:
        return f"/dev/fuse cannot be opened here: {e}"
    os.close(fd)
    return None


@dataclass
class Frame:
    width: int
    height: int
    pixelformat: str
    data: bytes


class FakeLoopback:
    """A running fake device: where it is and what it was told."""

    def __init__(self, mountpoint: Path, record_dir: Path, device_name: str):
        self.mountpoint = mountpoint
        self.record_dir = record_dir
        self.device = str(mountpoint / device_name)

    def events(self) -> list[dict]:
        path = self.record_dir / "events.jsonl"
        lines = path.read_text().splitlines() if path.exists() else []
        return [json.loads(line) for line in lines if line.strip()]

    def ioctls(self) -> list[dict]:
        return [e for e in self.events() if e["event"] == "ioctl"]

    def writes(self) -> list[dict]:
        return [e for e in self.events() if e["event"] == "write"]

    def frames(self) -> list[Frame]:
        """The written byte stream cut into frames of the size the last S_FMT set."""
        formats = [e for e in self.ioctls() if e["name"] == "VIDIOC_S_FMT"]
        if not formats:
            return []
        fmt = formats[-1]
        size = FRAME_BYTES[fmt["pixelformat"]](fmt["width"], fmt["height"])
        data = (self.record_dir / "stream.bin").read_bytes()
        return [Frame(fmt["width"], fmt["height"], fmt["pixelformat"], data[i:i + size])
                for i in range(0, len(data) - size + 1, size)]


def _unmount(mountpoint: Path) -> None:
    for args in (["umount", str(mountpoint)], ["fusermount3", "-u", str(mountpoint)],
                 ["umount", "-l", str(mountpoint)]):
        if not is_mounted(mountpoint):
            return
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(args, capture_output=True, timeout=10)


@contextlib.contextmanager
def fake_v4l2loopback(base: Path, device_name: str = "video9", driver: str = "v4l2 loopback",
                      output: bool = True, start_timeout: float = 10.0):
    """Mount a fake loopback device under ``base``; unmount and stop the server on exit, whatever happens.

    ``driver`` is the name QUERYCAP reports ("uvcvideo" plays a real webcam);
    ``output=False`` plays a loopback device another app is already writing to.
    """
    from ctypes.util import find_library  # noqa: PLC0415

    if not (find_library("fuse3") or find_library("fuse")):
        raise RuntimeError("libfuse is not installed: sudo apt-get install fuse3 (.ci/run installs it)")
    mountpoint = base / "mnt"
    record_dir = base / "record"
    mountpoint.mkdir(parents=True)
    record_dir.mkdir(parents=True)
    stderr_path = base / "server.log"
    with open(stderr_path, "wb") as stderr:
        proc = subprocess.Popen(
            [sys.executable, __file__, str(mountpoint), str(record_dir), device_name, driver, "1" if output else "0"],
            stdin=subprocess.DEVNULL, stdout=stderr, stderr=stderr, start_new_session=True,
        )
    try:
        deadline = time.monotonic() + start_timeout
        while not is_mounted(mountpoint):
            if proc.poll() is not None:
                raise RuntimeError(f"fake v4l2loopback server exited ({proc.returncode}): "
                                   f"{stderr_path.read_text(errors='replace')[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"fake v4l2loopback was not mounted within {start_timeout} s: "
                                   f"{stderr_path.read_text(errors='replace')[-2000:]}")
            time.sleep(0.02)
        yield FakeLoopback(mountpoint, record_dir, device_name)
    finally:
        _unmount(mountpoint)
        try:
            proc.wait(timeout=2)  # longer only when a test left the device open (lazy unmount): stop it then
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        _unmount(mountpoint)  # in case the server died before its own unmount


if __name__ == "__main__":
    serve(*sys.argv[1:6])
