"""Real video files for tests, written and read with OpenCV."""

from pathlib import Path

import cv2

from engine.media.test_pattern import pattern_frame


def write_pattern_video(path: Path, n: int = 10, size=(160, 120), fps: float = 12.0) -> None:
    """``n`` frames of the moving test pattern as an MPEG-4 file."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    assert w.isOpened()
    for i in range(n):
        w.write(cv2.cvtColor(pattern_frame(i / fps, *size), cv2.COLOR_RGB2BGR))
    w.release()


def read_video(path: Path):
    """All frames (BGR) and the frame rate of a video file."""
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    fps = cap.get(cv2.CAP_PROP_FPS)
    cap.release()
    return frames, fps
