"""Fragmented MP4/MOV files (what the crash-safe writer makes) cut back to their last whole fragment."""

from __future__ import annotations

from pathlib import Path


def trim_to_whole_fragments(path: Path) -> int:
    """Cut a fragmented MP4/MOV back to its last whole fragment (a ``moof`` box and its ``mdat``); returns the
    new size.  A file whose top-level boxes all fit is left as it is."""
    try:
        size = path.stat().st_size
        good, fragment_start = 0, None
        with open(path, "rb") as f:
            pos = 0
            while pos + 8 <= size:
                f.seek(pos)
                head = f.read(16)
                length, kind = int.from_bytes(head[:4], "big"), head[4:8]
                if length == 1 and len(head) >= 16:
                    length = int.from_bytes(head[8:16], "big")
                if length < 8 or pos + length > size:
                    break  # the box the disk cut short
                pos += length
                if kind == b"moof":
                    fragment_start = fragment_start if fragment_start is not None else pos - length
                else:
                    if kind == b"mdat" or fragment_start is None:
                        good = pos
                    fragment_start = None
        if good < size:
            with open(path, "r+b") as f:
                f.truncate(good)
        return good
    except OSError:
        return -1
