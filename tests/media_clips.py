"""Real media files for tests, made by the system's ffmpeg, and what ffprobe says of them: the
independent check of what engine.media reads (the system ffmpeg is a different FFmpeg build from
the one inside PyAV's wheel)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from system_deps import skip_unless_required

# 2 s of the moving test picture at 25 fps, 320x240, and a 440 Hz tone
PICTURE = ["-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25"]
TONE = ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100"]


def require_ffmpeg() -> None:
    if shutil.which("ffmpeg") is None or shutil.which("ffprobe") is None:
        skip_unless_required("ffmpeg and ffprobe are not installed (apt install ffmpeg)")


def ffmpeg(*args) -> None:
    cmd = ["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", "-y", *map(str, args)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, f"{' '.join(cmd)}\n{r.stderr}"


def ffprobe(path, *args) -> dict:
    r = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, str(path)], capture_output=True, text=True,
                       timeout=60, check=True)
    return json.loads(r.stdout)


def stream(path, kind: str = "v") -> dict:
    """ffprobe's description of the file's first video ('v') or audio ('a') stream."""
    return ffprobe(path, "-select_streams", f"{kind}:0", "-show_streams")["streams"][0]


def frame_times(path) -> list[float]:
    """Each picture's time as ffprobe decodes it (best-effort timestamp), from the picture stream's start."""
    start = float(stream(path).get("start_time", 0.0))
    frames = ffprobe(path, "-select_streams", "v:0", "-show_frames",
                     "-show_entries", "frame=best_effort_timestamp_time")["frames"]
    return [float(f["best_effort_timestamp_time"]) - start for f in frames]


def decode_rgb(path, width: int, height: int, frames: int = 1) -> np.ndarray:
    """The first ``frames`` pictures as ffmpeg shows them (rotation applied), (n, height, width, 3) uint8."""
    r = subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-i", str(path), "-frames:v", str(frames),
                        "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, timeout=60, check=True)
    return np.frombuffer(r.stdout, np.uint8).reshape(-1, height, width, 3)


def make(folder: Path, name: str, *args) -> Path:
    """``folder/name`` written by ffmpeg from ``args`` (the inputs and options), once per folder."""
    path = folder / name
    if not path.exists():
        ffmpeg(*args, path)
    return path
