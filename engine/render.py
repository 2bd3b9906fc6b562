"""Offline rendering of an image or a video file through a :class:`DiffusionStream`.

Stream Batch hands a frame out ``steps - 1`` calls after it went in, so the
renderer keeps feeding the last input once the file ends until every frame has
come out: the result has exactly the input's frame count, size and rate, with
output frame k made from input frame k.  A video's sound goes along, in place (engine/render_sound.py).
"""

from __future__ import annotations

from collections import deque
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from .diffusion.stream import DiffusionStream
from .live.output_stage import fit_frame
from .media.files import MediaError, MediaInfo, VideoWriter, is_image_path, probe, read_image, write_image
from .media.reader import iter_frames
from .render_sound import SoundReport, open_sound


def stream_frames(stream: DiffusionStream, frames: Iterable[np.ndarray]) -> Iterator[np.ndarray]:
    """Yield one output per input frame, in order (model resolution)."""
    f = stream.settings.frame_buffer_size
    real = 0  # real input frames fed so far
    yielded = 0
    group: list[np.ndarray] = []
    last: list[np.ndarray] | None = None
    for frame in frames:
        group.append(frame)
        real += 1
        if len(group) == f:
            last, group = group, []
            for img in stream.process(last) or []:
                yielded += 1
                yield img
    if group:  # a partial last group: pad it with its final frame
        last = group + [group[-1]] * (f - len(group))
        for img in stream.process(last) or []:
            if yielded < real:
                yielded += 1
                yield img
    # drain: outputs arrive in input order, so feed the last group again until
    # every real frame is out (padding frames come last and are dropped)
    while yielded < real and last is not None:
        for img in stream.process(last) or []:
            if yielded < real:
                yielded += 1
                yield img


def check_output_kind(info: MediaInfo, dst: str | Path) -> None:
    """An image renders to an image and a video to a video."""
    if (info.kind == "image") != is_image_path(dst):
        want = "an image (.png, .jpg)" if info.kind == "image" else "a video (.mp4, .avi)"
        raise MediaError(f"the input is {'an image' if info.kind == 'image' else 'a video'}, so the output must be {want}: {dst}")


@dataclass(frozen=True)
class RenderResult:
    frames: int  # frames written
    sound: SoundReport  # what became of the input's sound
    encoder: str = ""  # the video encoder used ("" for an image)
    notice: str | None = None  # the writer's one line (a hardware encoder that would not start), if any


def render_file(
    stream: DiffusionStream,
    src: str | Path,
    dst: str | Path,
    progress: Callable[[int, int], None] | None = None,
    *,
    codec: str | None = "auto",
    sound: bool = True,
) -> RenderResult:
    """Render ``src`` into ``dst`` (same kind, same size, a video in ``codec``); a video's sound goes along
    (copied or re-encoded, in place) unless ``sound`` is False."""
    info = probe(src)
    check_output_kind(info, dst)
    size = (info.width, info.height)

    def restore(img: np.ndarray) -> np.ndarray:
        # the model painted the input centre-cropped to its frame's aspect: scaled back to cover the file's size
        # and centre-cropped the same way, nothing is stretched (fill, as the output stage does)
        return img if (img.shape[1], img.shape[0]) == size else fit_frame(img, *size, mode="fill")

    if stream.settings.similarity_filter:
        # offline, every frame is rendered: the filter exists to save power live
        stream.apply(replace(stream.settings, similarity_filter=False))
    stream.restart()
    if info.kind == "image":
        frame = read_image(src)
        out = next(stream_frames(stream, [frame]))
        write_image(dst, restore(out))
        if progress:
            progress(1, 1)
        return RenderResult(1, SoundReport("none"))
    times: deque[float] = deque()  # each input frame's own time, for its place in the output

    def timed_frames():
        for vf in iter_frames(src):
            times.append(vf.t)
            yield vf.rgb

    return write_render((restore(img) for img in stream_frames(stream, timed_frames())), info, src, dst, progress,
                        codec=codec, sound=sound, times=times)


def write_render(
    frames: Iterable[np.ndarray],
    info: MediaInfo,
    src: str | Path,
    dst: str | Path,
    progress: Callable[[int, int], None] | None = None,
    *,
    codec: str | None = "auto",
    sound: bool = True,
    times: deque[float] | None = None,
) -> RenderResult:
    """Write a render's ``frames`` (output frame k for input frame k of the video ``src``, which ``info``
    describes) into ``dst`` at the input's rate, with the input's sound unless ``sound`` is False.

    ``times`` (filled as the frames are read: input frame k's own time first) places each frame at its time on
    the output's constant-rate grid: a variable-frame-rate input repeats a frame over a gap and drops one that
    shares a slot, so the pictures stay with the sound.  Without it frame k goes to slot k."""
    size = (info.width, info.height)
    if not info.has_audio:
        report = SoundReport("none")
    elif not sound:
        report = SoundReport("dropped", info.audio_codec)
    else:
        report = None
    with ExitStack() as files:
        writer, audio = _open_writer(files, src, dst, info.fps, size, codec, sound=report is None)
        report = audio.report if audio is not None else report or SoundReport("none")
        written, done, first = 0, 0, None
        max_gap = int(info.fps * 60)  # timestamps that jump a minute ahead are the file's fault: no minute of repeats
        with writer:  # an error inside leaves no file behind
            for img in frames:
                done += 1
                t = times.popleft() if times else None
                if t is not None and first is None:
                    first = t
                slot = written if t is None else int(round((t - first) * info.fps))
                if slot < written:
                    continue  # a frame sharing the slot of the one before (a burst in a VFR file)
                for _ in range(min(slot - written, max_gap)):
                    writer.repeat()
                    written += 1
                writer.write(img)
                written += 1
                if audio is not None:
                    audio.until(written / info.fps)  # the sound as far as the pictures: the muxer interleaves
                if progress:
                    progress(done, info.frame_count)
            if written == 0:
                raise MediaError(f"no frames could be decoded from {src}")
            if audio is not None:
                audio.finish()
    return RenderResult(written, report, writer.encoder, writer.notice)


def _open_writer(files: ExitStack, src, dst, fps: float, size: tuple[int, int], codec: str | None, sound: bool):
    """The writer, with the track the input's sound needs (when ``sound``); a copy the muxer refuses after all
    is re-encoded.  The sound's input file closes with ``files``."""
    audio = open_sound(src, dst, codec) if sound else None
    if audio is not None:
        files.enter_context(audio)
    try:
        writer = VideoWriter(dst, fps, size, codec=codec or "auto", **(audio.writer_options() if audio else {}))
    except MediaError:
        if audio is None or audio.report.action != "copied":
            raise
        audio = files.enter_context(open_sound(src, dst, codec, copy=False))
        writer = VideoWriter(dst, fps, size, codec=codec or "auto", **audio.writer_options())
    if audio is not None:
        audio.start(writer)
    return writer, audio
