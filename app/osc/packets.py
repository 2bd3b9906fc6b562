"""A cheap structural check of an OSC datagram before python-osc parses it.

python-osc logs a warning for every unknown type tag it meets (through the root logger,
not rate-limited) and recurses into nested bundles without a depth limit; a hostile
peer could use either to flood the log or exhaust the stack.  :func:`problem` walks the
datagram's framing (bundle element sizes, address and type-tag strings) without
decoding arguments and says what is wrong, or returns None.
"""

from __future__ import annotations

BUNDLE_TAG = b"#bundle\0"
KNOWN_TYPE_TAGS = frozenset(b"ihfdsbrmtTFN[]")
MAX_BUNDLE_DEPTH = 8


def _padded_string_end(dgram: bytes, start: int) -> int | None:
    """Index just past the NUL-terminated, 4-byte padded string at ``start``, or None."""
    nul = dgram.find(b"\0", start)
    if nul < 0:
        return None
    end = start + ((nul - start) // 4 + 1) * 4
    return end if end <= len(dgram) else None


def problem(dgram: bytes, depth: int = 0) -> str | None:
    if dgram.startswith(BUNDLE_TAG):
        if depth >= MAX_BUNDLE_DEPTH:
            return f"bundles nested deeper than {MAX_BUNDLE_DEPTH}"
        if len(dgram) < 16:
            return "truncated bundle header"
        i = 16
        while i < len(dgram):
            if i + 4 > len(dgram):
                return "truncated bundle element size"
            size = int.from_bytes(dgram[i : i + 4], "big", signed=True)
            i += 4
            if size <= 0 or size % 4 or i + size > len(dgram):
                return f"bad bundle element size {size}"
            why = problem(dgram[i : i + size], depth + 1)
            if why:
                return why
            i += size
        return None
    if not dgram.startswith(b"/"):
        return "not an OSC message or bundle"
    if len(dgram) % 4:
        return "length is not a multiple of 4"
    j = _padded_string_end(dgram, 0)
    if j is None:
        return "truncated address"
    if j == len(dgram):
        return None  # no type tags: a message without arguments
    if dgram[j : j + 1] != b",":
        return "missing type tag string"
    end = _padded_string_end(dgram, j)
    if end is None:
        return "truncated type tag string"
    tags = dgram[j + 1 : dgram.index(b"\0", j)]
    if not KNOWN_TYPE_TAGS.issuperset(tags):
        return "unknown type tag"
    return None
