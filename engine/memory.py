"""Giving freed memory back to the system after a big release (a model swapped out, a load finished).

glibc keeps freed heap pages for reuse; after a model of hundreds of megabytes is dropped, the
process's resident memory stays where it peaked, and a night of reloads ratchets it up (measured
by ``dreamdeck soak``: about 14 MB per tiny-model reload). ``malloc_trim`` hands the free pages
back. Elsewhere (macOS, Windows, musl) it is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

_trim = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _trim = getattr(_libc, "malloc_trim", None)  # glibc only
    except OSError:
        _trim = None


def return_freed_memory() -> None:
    """Ask the C allocator to hand its free pages back to the system (a few milliseconds)."""
    if _trim is not None:
        _trim(0)
