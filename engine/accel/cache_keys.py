"""Cache keys: every choice that changes a built export or engine, hashed.

:func:`cache_key` hashes a dict of parts (canonical JSON, SHA-256).
:func:`module_fingerprint` hashes the weights (computed once per module object,
recomputed only when a parameter was changed in place), :func:`gpu_name` names
the GPU an engine is built for, and :func:`standard_key_parts` is the usual set,
so no back end forgets one.  The store itself is :mod:`engine.accel.cache`.
"""

from __future__ import annotations

import hashlib
import json
import threading
import weakref
from pathlib import Path
from typing import Any, Mapping


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
    resolution_range: tuple,
    precision: str,
    tiny_vae: bool,
    loras: Mapping[str, float] | None = None,
    gpu: str | None = None,
    opset: int | None = None,
    exporter: str | None = None,
    resolution_opt: tuple[int, int] | None = None,
    **extra,
) -> dict:
    """The usual parts of a key: one place so no back end forgets one.

    ``role``: 'unet', 'vae_encoder', 'vae_decoder'; ``weights``: a
    :func:`module_fingerprint`; ``flavour``: 'onnx', 'tensorrt', 'tensorrt-rtx', ...
    with its library version; ``gpu``: :func:`gpu_name` (default: this machine's).
    ``resolution_range``: (min, max, step) pixels of either side (or ``("dynamic",)``);
    ``resolution_opt``: the (height, width) a build is tuned for, where it is (a
    TensorRT profile's optimum: 512x512 and 512x320 engines differ), else left out.
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
    if resolution_opt is not None:
        parts["resolution_opt"] = [int(resolution_opt[0]), int(resolution_opt[1])]
    parts.update(extra)
    return parts
