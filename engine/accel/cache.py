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

Keys: :func:`cache_key` hashes a dict of parts (canonical JSON, SHA-256).  Use
:func:`module_fingerprint` for the weights (computed once per module object,
recomputed only when a parameter was changed in place) and
:func:`standard_key_parts` for the usual set.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import threading
import time
import uuid
import weakref
from pathlib import Path
from typing import Any, Callable, Mapping

from ..atomic_file import fsync_folder

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


# -- keys --------------------------------------------------------------------------------

def _canonical(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return sorted(_canonical(v) for v in value)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return repr(value)  # exact, and 1.0 stays distinct from 1 only if the caller meant it
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return _canonical(dataclasses.asdict(value))
    return str(value)  # torch.dtype, torch.device, enums: their names


def canonical_json(parts: Mapping) -> str:
    return json.dumps(_canonical(parts), sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def cache_key(parts: Mapping) -> str:
    """SHA-256 (hex) of the canonical JSON of ``parts``: equal parts, equal key."""
    return hashlib.sha256(canonical_json(parts).encode()).hexdigest()


_fingerprints: "weakref.WeakKeyDictionary[Any, tuple[tuple, str]]" = weakref.WeakKeyDictionary()
_fingerprint_lock = threading.Lock()


def _module_stamp(module) -> tuple:
    """Cheap identity of a module's current tensors: storage, shape, dtype and the
    in-place version counter of each (a LoRA fused in place bumps the counter)."""
    return tuple(
        (name, t.data_ptr(), tuple(t.shape), str(t.dtype), t._version)
        for name, t in module.state_dict(keep_vars=True).items()
    )


def module_fingerprint(module) -> str:
    """SHA-256 of a module's weights (after any LoRA fusion): every tensor's name,
    dtype, shape and bytes, in state-dict order.  Computed once per module object
    and recomputed only when its tensors were replaced or changed in place."""
    import torch

    stamp = _module_stamp(module)
    with _fingerprint_lock:
        cached = _fingerprints.get(module)
        if cached is not None and cached[0] == stamp:
            return cached[1]
    h = hashlib.sha256()
    with torch.no_grad():
        for name, t in module.state_dict().items():
            t = t.detach()
            h.update(f"{name}|{t.dtype}|{tuple(t.shape)}\n".encode())
            t = t.to("cpu").contiguous()
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    digest = h.hexdigest()
    with _fingerprint_lock:
        _fingerprints[module] = (stamp, digest)
    return digest


def gpu_name(device=None) -> str:
    """The GPU an engine is built for ('NVIDIA H100 80GB HBM3', ...), or 'cpu'."""
    try:
        import torch

        if torch.cuda.is_available() and (device is None or str(device).startswith("cuda")):
            return torch.cuda.get_device_name(device)
    except Exception:  # a broken driver is the same as none for the key
        pass
    return "cpu"


def standard_key_parts(
    *,
    role: str,
    weights: str,
    flavour: str,
    flavour_version: str,
    batch_range: tuple[int, int],
    resolution_range: tuple[int, int, int],
    precision: str,
    tiny_vae: bool,
    loras: Mapping[str, float] | None = None,
    gpu: str | None = None,
    opset: int | None = None,
    exporter: str | None = None,
    **extra,
) -> dict:
    """The usual parts of a key: one place so no back end forgets one.

    ``role``: 'unet', 'vae_encoder', 'vae_decoder'; ``weights``: a
    :func:`module_fingerprint`; ``flavour``: 'onnx', 'tensorrt', 'tensorrt-rtx', ...
    with its library version; ``gpu``: :func:`gpu_name` (default: this machine's).
    """
    parts = dict(
        role=role,
        weights=weights,
        loras=dict(sorted((loras or {}).items())),
        tiny_vae=bool(tiny_vae),
        batch_range=list(batch_range),
        resolution_range=list(resolution_range),
        precision=str(precision),
        flavour=flavour,
        flavour_version=str(flavour_version),
        gpu=gpu if gpu is not None else gpu_name(),
        opset=opset,
        exporter=exporter,
    )
    parts.update(extra)
    return parts


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

    def remove(self, key: str) -> None:
        shutil.rmtree(self.entry_dir(key), ignore_errors=True)

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

    def _acquire(self, key: str, cancel: "Cancel | threading.Event"):
        """A cross-process lock on ``key``, waited for while watching ``cancel``."""
        from filelock import FileLock, Timeout

        lock = FileLock(str(self.root / f".{key}.lock"))
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
