"""``dreamdeck engines``: what the acceleration cache holds on disk, and clearing it.

TensorRT engines are hundreds of megabytes for each model, resolution range and
GPU; a VJ who tries several models fills the cache folder quickly.  ``list``
shows each entry (what it is, for which model, precision and GPU, its size and
age) and the total; ``clear`` removes entries -- all of them, those older than
some days, or one back end's -- and the half-written leftovers of builds that
died.  A build in progress is never touched: each entry is removed under the
same lock its build takes, and a build writes into a temporary folder that
only becomes an entry when it is complete.  Removing an entry a running show
is using is safe too: the show holds it in memory, and the next preparation
builds it again.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import datetime

from .errors import UserError

LOCK_WAIT_S = 2.0  # how long clear waits for an entry a build holds before leaving it


def add_engines_parser(sub) -> None:
    e = sub.add_parser("engines", help="list or clear the cached ONNX exports and TensorRT engines")
    e.set_defaults(func=run_engines, action="list")
    e.add_argument("--json", action="store_true", help="print one JSON object (the list)")
    acts = e.add_subparsers(dest="action")
    ls = acts.add_parser("list", help="each cached export or engine, its size and age, and the total (the default)")
    ls.add_argument("--json", action="store_true", help="print one JSON object")
    cl = acts.add_parser("clear", help="remove cached exports and engines (they are built again when needed)")
    cl.add_argument("--older-than", type=float, default=None, metavar="DAYS", help="only entries built more than DAYS ago")
    cl.add_argument("--flavour", default=None, help="only one kind: onnx, tensorrt or tensorrt-rtx")
    for p in (e, ls, cl):
        p.add_argument("--cache-dir", default=None, help=argparse.SUPPRESS)  # tests: a private cache


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"


def _created(m: dict) -> float | None:
    try:
        return datetime.strptime(m["created"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
    except (KeyError, TypeError, ValueError):
        return None


def describe(cache) -> list[dict]:
    """One dict per complete entry: key, what, flavour, role, precision, gpu, bytes, created (epoch s)."""
    rows = []
    for key in cache.entries():
        m = cache.manifest(key)
        if m is None:
            continue  # removed or damaged since entries() looked
        parts = m.get("parts", {})
        rows.append({
            "key": key, "what": m.get("what") or parts.get("role", "?"), "flavour": parts.get("flavour", "?"),
            "role": parts.get("role", "?"), "precision": parts.get("precision", "?"), "gpu": parts.get("gpu", "?"),
            "bytes": sum(m.get("files", {}).values()), "created": _created(m),
        })
    return rows


def run_engines(a) -> int:
    from engine.accel.cache import EngineCache

    cache = EngineCache(a.cache_dir)
    if a.action == "clear":
        return _clear(cache, a)
    rows = describe(cache)
    total = sum(r["bytes"] for r in rows)
    if getattr(a, "json", False):
        print(json.dumps({"root": str(cache.root), "entries": rows, "total_bytes": total}))
        return 0
    if not rows:
        print(f"no cached exports or engines in {cache.root}")
        return 0
    now = time.time()
    print(f"{len(rows)} cached in {cache.root}, {_size(total)} in all:")
    for r in sorted(rows, key=lambda r: (r["flavour"], r["what"])):
        age = f"{(now - r['created']) / 86400:.1f} days" if r["created"] else "age unknown"
        print(f"  {r['key'][:12]}  {r['flavour']:<12} {r['what']:<44} {r['precision']:<8} {r['gpu']:<22} {_size(r['bytes']):>9}  {age}")
    print("dreamdeck engines clear [--older-than DAYS] [--flavour F] removes them; they are built again when needed")
    return 0


def _clear(cache, a) -> int:
    if a.older_than is not None and a.older_than < 0:
        raise UserError(f"--older-than takes a number of days, 0 or more; got {a.older_than:g}")
    rows = describe(cache)
    kinds = sorted({r["flavour"] for r in rows})
    if a.flavour is not None and a.flavour not in kinds + ["onnx", "tensorrt", "tensorrt-rtx"]:
        raise UserError(f"no back end {a.flavour!r} makes cache entries; use one of onnx, tensorrt, tensorrt-rtx")
    cutoff = None if a.older_than is None else time.time() - a.older_than * 86400
    chosen = [r for r in rows if (a.flavour is None or r["flavour"] == a.flavour)
              and (cutoff is None or (r["created"] is not None and r["created"] <= cutoff))]
    freed, busy = 0, []
    for r in chosen:
        if cache.remove(r["key"], wait_s=LOCK_WAIT_S):
            freed += r["bytes"]
        else:
            busy.append(r["what"])
    stale = cache.clean_stale() if a.flavour is None and a.older_than is None else 0
    print(f"removed {len(chosen) - len(busy)} of {len(rows)} cached entries ({_size(freed)})"
          + (f" and {stale} unfinished build folder{'s' if stale != 1 else ''}" if stale else "") + f" from {cache.root}")
    if busy:
        print(f"kept {len(busy)} being built right now: {', '.join(busy)}; run it again when the build is done", file=sys.stderr)
    return 0
