"""OSC datagram framing: a cheap structural check of what comes in, sizes of what goes out.

python-osc logs a warning for every unknown type tag it meets (through the root logger,
not rate-limited) and recurses into nested bundles without a depth limit; a hostile
peer could use either to flood the log or exhaust the stack.  :func:`problem` walks the
datagram's framing (bundle element sizes, address and type-tag strings) without
decoding arguments and says what is wrong, or returns None.

:func:`string_list_page` builds an answer that lists strings (the preset names) in one
datagram of at most a given size, from its encoded size, so a long list is paged instead
of growing one datagram without bound.
"""

from __future__ import annotations

from typing import Sequence

from pythonosc.osc_message_builder import OscMessageBuilder

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


def padded_size(text: str) -> int:
    """Bytes an OSC string takes in a datagram: UTF-8, a NUL, padded to a multiple of 4."""
    n = len(text.encode("utf-8")) + 1
    return n + (-n % 4)


def string_list_page(address: str, items: Sequence[str], start: int, max_bytes: int) -> tuple[bytes, int | None]:
    """One datagram at ``address`` with ``items[start:]`` as string arguments, as many as fit
    in ``max_bytes``; when some are left, an int argument ends it: the index to ask for next.
    Returns (datagram, next index or None).  An item too long for a page on its own is
    skipped (the next index still moves on), so paging always ends."""
    fixed = padded_size(address)
    size, taken = 0, 0
    for i in range(start, len(items)):
        item = padded_size(items[i])
        last = i == len(items) - 1
        count = taken + 1 + (0 if last else 1)  # arguments, with the trailing int if more follow
        if fixed + padded_size("," + "s" * count) + size + item + (0 if last else 4) > max_bytes:
            break
        size += item
        taken += 1
    end = start + taken
    following = end if end < len(items) else None
    if taken == 0 and following is not None:
        following = start + 1  # could not fit even one: skip it rather than page forever
    b = OscMessageBuilder(address=address)
    for item in items[start:end]:
        b.add_arg(item, "s")
    if following is not None:
        b.add_arg(following, "i")
    return b.build().dgram, following
