"""The engine cache: built ONNX exports and TensorRT engines, keyed by every choice
that changes them, written so that an interrupted build never looks finished.

One entry is one directory ``<root>/<key>/`` holding the artefact (``model<suffix>``,
plus any side files the builder writes next to it, such as ONNX external weights)
and ``manifest.json`` (the key's parts, file sizes, a content hash).  A build runs
in a private temporary directory ``<root>/.tmp-<key>-<pid>-<random>/`` that is
renamed to ``<root>/<key>`` in one atomic step only after the files are complete,
validated and fsynced.  So an exception, a cancel or a killed process leaves at
most a temporary directory, which :meth:`EngineCache.get` never looks at and the
next build of that key removes.  Builds of the same key by several threads or
processes are serialised by a lock file; the second one finds the first one's
entry and returns it without building.

Keys (:func:`cache_key`, :func:`module_fingerprint`, :func:`standard_key_parts`)
live in :mod:`engine.accel.cache_keys` and are importable from here too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable, Mapping

from ..atomic_file import fsync_folder
from .cache_keys import cache_key, canonical_json, gpu_name, module_fingerprint, standard_key_parts

__all__ = ["AccelBuildError", "BuildCancelled", "Cancel", "EngineCache", "ProgressFn", "cache_key", "cancel_check",
           "canonical_json", "default_root", "gpu_name", "module_fingerprint", "standard_key_parts"]

ProgressFn = Callable[[float, str], None]
Builder = Callable[[Path, ProgressFn, "Cancel"], Any]

MANIFEST = "manifest.json"
MANIFEST_FORMAT = 1
_TMP_PREFIX = ".tmp-"


class AccelBuildError(RuntimeError):
    """A back end could not be built; ``str(e)`` is one line a user can read."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


class BuildCancelled(AccelBuildError):
    """The build was cancelled (nothing was written to the cache)."""


class Cancel:
    """A cancel token: set from any thread, checked by the build at safe points."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    __bool__ = is_set

    def check(self, what: str = "build") -> None:
        if self.is_set():
            raise BuildCancelled(f"{what} cancelled")


def _no_progress(fraction: float, message: str) -> None:
    pass


# -- the cache ---------------------------------------------------------------------------

def default_root() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("dreamdeck")) / "engines"


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    if os.name == "posix":
        fsync_folder(path)


def _sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


def _one_line(e: BaseException) -> str:
    text = " ".join(str(e).split()) or type(e).__name__
    return text if len(text) <= 300 else text[:297] + "..."


class EngineCache:
    """Built artefacts under ``root`` (default: the user cache dir's ``engines``)."""

    def __init__(self, root: str | os.PathLike | None = None):
        self.root = Path(root) if root is not None else default_root()
        self._local_locks: dict[str, threading.Lock] = {}
        self._local_guard = threading.Lock()

    # -- paths ---------------------------------------------------------------------------
    def entry_dir(self, key: str) -> Path:
        if not key or "/" in key or "\\" in key or key.startswith("."):
            raise ValueError(f"not a cache key: {key!r}")
        return self.root / key

    def path_for(self, key: str, suffix: str) -> Path:
        """Where the artefact of ``key`` lives once built (it may not exist yet)."""
        return self.entry_dir(key) / f"model{suffix}"

    # -- reading -------------------------------------------------------------------------
    def manifest(self, key: str) -> dict | None:
        """The manifest of a complete entry, or None (missing, partial or damaged)."""
        folder = self.entry_dir(key)
        try:
            m = json.loads((folder / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        try:
            if m.get("format") != MANIFEST_FORMAT or m.get("key") != key:
                return None
            for name, size in m["files"].items():
                if (folder / name).stat().st_size != size:
                    return None
            if m["main"] not in m["files"] or m["files"][m["main"]] <= 0:
                return None
        except (OSError, KeyError, TypeError, AttributeError):
            return None
        return m

    def get(self, key: str, verify: bool = False) -> Path | None:
        """The artefact's path if ``key`` has a complete entry, else None.

        Complete: the manifest is there, names this key, and every file has its
        recorded size; with ``verify`` the main file's SHA-256 is checked too.
        """
        m = self.manifest(key)
        if m is None:
            return None
        path = self.entry_dir(key) / m["main"]
        if verify and _sha256_file(path) != m["sha256"]:
            return None
        return path

    def entries(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if not p.name.startswith(".") and self.manifest(p.name))

    def remove(self, key: str, wait_s: float | None = None) -> bool:
        """Delete ``key``'s entry.  With ``wait_s``, under the lock its build takes
        (another process may be building it): False if the lock stayed taken."""
        if wait_s is None:
            shutil.rmtree(self.entry_dir(key), ignore_errors=True)
            return True
        from filelock import Timeout

        lock = self._lock_file(key)
        try:
            lock.acquire(timeout=wait_s)
        except Timeout:
            return False
        try:
            shutil.rmtree(self.entry_dir(key), ignore_errors=True)
        finally:
            lock.release()
        return True

    # -- writing -------------------------------------------------------------------------
    def clean_stale(self, key: str | None = None, max_age_s: float = 24 * 3600) -> int:
        """Remove temporary build folders left by dead processes (or very old ones),
        and damaged entries of ``key``.  Returns how many were removed."""
        if not self.root.is_dir():
            return 0
        removed = 0
        now = time.time()
        for p in self.root.iterdir():
            if not p.name.startswith(_TMP_PREFIX):
                continue
            fields = p.name[len(_TMP_PREFIX):].split("-")
            if key is not None and fields[0] != key:
                continue
            try:
                pid = int(fields[1])
            except (IndexError, ValueError):
                pid = -1
            try:
                age = now - p.stat().st_mtime
            except OSError:
                continue
            if pid <= 0 or not _pid_alive(pid) or age > max_age_s:
                shutil.rmtree(p, ignore_errors=True)
                removed += 1
        if key is not None and self.entry_dir(key).exists() and self.manifest(key) is None:
            shutil.rmtree(self.entry_dir(key), ignore_errors=True)
            removed += 1
        return removed

    def _thread_lock(self, key: str) -> threading.Lock:
        with self._local_guard:
            return self._local_locks.setdefault(key, threading.Lock())

    def _lock_file(self, key: str):
        """The lock file a build of ``key`` holds (one per key, beside the entries)."""
        from filelock import FileLock

        return FileLock(str(self.root / f".{key}.lock"))

    def _acquire(self, key: str, cancel: "Cancel | threading.Event"):
        """A cross-process lock on ``key``, waited for while watching ``cancel``."""
        from filelock import Timeout

        lock = self._lock_file(key)
        while True:
            try:
                lock.acquire(timeout=0.2)
                return lock
            except Timeout:
                if cancel.is_set():
                    raise BuildCancelled("build cancelled while waiting for another build of the same engine")

    def build(
        self,
        key: str,
        suffix: str,
        builder: Builder,
        progress: ProgressFn | None = None,
        cancel: "Cancel | threading.Event | None" = None,
        parts: Mapping | None = None,
        what: str = "engine",
        validate: Callable[[Path], None] | None = None,
    ) -> Path:
        """Return the artefact of ``key``, building it with ``builder`` if needed.

        ``builder(tmp_path, progress, cancel)`` writes the artefact to ``tmp_path``
        (and may write side files in its folder); it should call ``progress(f, msg)``
        with f in 0..1 and stop soon after ``cancel`` is set.  ``validate(path)``
        may raise to reject the result.  Raises :class:`AccelBuildError` (one line)
        on failure and :class:`BuildCancelled` on cancel; the cache then holds
        nothing new for ``key``.
        """
        progress = progress or _no_progress
        cancel = cancel if cancel is not None else Cancel()
        found = self.get(key)
        if found is not None:
            progress(1.0, f"{what}: cached")
            return found
        self.root.mkdir(parents=True, exist_ok=True)
        with self._thread_lock(key):
            lock = self._acquire(key, cancel)
            try:
                found = self.get(key)  # built by someone else while we waited
                if found is not None:
                    progress(1.0, f"{what}: cached")
                    return found
                self.clean_stale(key)
                return self._build_locked(key, suffix, builder, progress, cancel, parts, what, validate)
            finally:
                lock.release()

    def _build_locked(self, key, suffix, builder, progress, cancel, parts, what, validate) -> Path:
        tmp = self.root / f"{_TMP_PREFIX}{key}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        main = f"model{suffix}"
        try:
            cancel_check(cancel, what)
            try:
                builder(tmp / main, progress, cancel)
            except AccelBuildError:
                raise
            except MemoryError as e:
                raise AccelBuildError(f"{what} build ran out of memory: {_one_line(e)}") from e
            except Exception as e:
                raise AccelBuildError(f"{what} build failed: {_one_line(e)}") from e
            cancel_check(cancel, what)
            target = tmp / main
            if not target.is_file() or target.stat().st_size == 0:
                raise AccelBuildError(f"{what} build failed: the builder wrote no {main}")
            if validate is not None:
                try:
                    validate(target)
                except Exception as e:
                    raise AccelBuildError(f"{what} build failed validation: {_one_line(e)}") from e
            files = {}
            for p in sorted(tmp.rglob("*")):
                if p.is_file():
                    _fsync_file(p)
                    files[p.relative_to(tmp).as_posix()] = p.stat().st_size
            manifest = {
                "format": MANIFEST_FORMAT,
                "key": key,
                "parts": json.loads(canonical_json(parts or {})),
                "main": main,
                "files": files,
                "sha256": _sha256_file(target),
                "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "what": what,  # for people: 'dreamdeck engines' lists it
            }
            mpath = tmp / MANIFEST
            with open(mpath, "w") as f:
                json.dump(manifest, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(tmp)
            cancel_check(cancel, what)
            final = self.entry_dir(key)
            if final.exists():  # a damaged entry (complete ones were returned above)
                shutil.rmtree(final, ignore_errors=True)
            os.replace(tmp, final)  # the one step that makes the entry exist
            _fsync_dir(self.root)
            progress(1.0, f"{what}: built")
            return final / main
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)


def cancel_check(cancel, what: str = "build") -> None:
    """Raise :class:`BuildCancelled` if ``cancel`` (a Cancel or threading.Event) is set."""
    if cancel is not None and cancel.is_set():
        raise BuildCancelled(f"{what} cancelled")
