"""The engine cache: keys that change exactly when an input changes, and builds that
never leave a valid-looking entry behind when they fail, are cancelled or are killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest
import torch

from engine.accel.cache import (
    AccelBuildError,
    BuildCancelled,
    Cancel,
    EngineCache,
    cache_key,
    default_root,
    module_fingerprint,
    standard_key_parts,
)

REPO = Path(__file__).resolve().parents[3]


def _parts(**over):
    base = dict(
        role="unet", weights="w" * 64, flavour="tensorrt-rtx", flavour_version="1.7.1", batch_range=(1, 4),
        resolution_range=(384, 1024, 64), precision="fp16", tiny_vae=True, loras={"a.safetensors": 0.8},
        gpu="NVIDIA GeForce RTX 4090", opset=18, exporter="torch-2.13",
    )
    base.update(over)
    return standard_key_parts(**base)


def test_key_is_stable_and_ignores_dict_order():
    a = _parts()
    b = dict(reversed(list(a.items())))
    assert cache_key(a) == cache_key(b) == cache_key(_parts())
    assert len(cache_key(a)) == 64
    # tuples and lists are the same choice
    assert cache_key(_parts(batch_range=[1, 4])) == cache_key(a)


@pytest.mark.parametrize(
    "change",
    [
        dict(role="vae_decoder"),
        dict(weights="x" * 64),
        dict(flavour="tensorrt"),
        dict(flavour_version="1.8.0"),
        dict(batch_range=(1, 2)),
        dict(resolution_range=(384, 768, 64)),
        dict(precision="fp32"),
        dict(tiny_vae=False),
        dict(loras={"a.safetensors": 0.7}),
        dict(loras={"b.safetensors": 0.8}),
        dict(loras={}),
        dict(gpu="cpu"),
        dict(opset=17),
        dict(exporter="torch-2.14"),
    ],
)
def test_key_changes_with_every_input(change):
    assert cache_key(_parts(**change)) != cache_key(_parts())


def test_weights_fingerprint_follows_the_tensors(tiny):
    unet = tiny["unet"]
    fp = module_fingerprint(unet)
    assert fp == module_fingerprint(unet)  # cached
    from engine.diffusion.tiny_model import tiny_components

    twin = tiny_components()["unet"]
    assert module_fingerprint(twin) == fp  # same weights, another object: same print
    p = next(twin.parameters())
    with torch.no_grad():
        p.add_(1e-3)  # what fusing a LoRA in place does
    changed = module_fingerprint(twin)
    assert changed != fp
    with torch.no_grad():
        p.sub_(1e-3)
    assert module_fingerprint(twin) != changed  # recomputed, not stale
    assert module_fingerprint(tiny["vae"]) != fp


def test_default_root_is_the_user_cache_dir():
    assert default_root().parts[-1] == "engines"
    assert "dreamdeck" in str(default_root())


def _write(data: bytes):
    calls = []

    def builder(path: Path, progress, cancel):
        calls.append(path)
        progress(0.5, "half")
        path.write_bytes(data)
        (path.parent / "side.bin").write_bytes(b"external weights")

    return builder, calls


def test_build_then_get(tmp_path):
    cache = EngineCache(tmp_path)
    key = cache_key(_parts())
    assert cache.get(key) is None
    builder, calls = _write(b"engine bytes")
    seen = []
    path = cache.build(key, ".plan", builder, progress=lambda f, m: seen.append((f, m)), parts=_parts())
    assert path == cache.path_for(key, ".plan") and path.read_bytes() == b"engine bytes"
    assert (path.parent / "side.bin").exists()  # side files travel with the entry
    assert cache.get(key) == path and cache.get(key, verify=True) == path
    m = json.loads((path.parent / "manifest.json").read_text())
    assert m["key"] == key and m["parts"]["flavour"] == "tensorrt-rtx" and m["files"]["model.plan"] == 12
    assert seen[0] == (0.5, "half") and seen[-1][0] == 1.0
    assert cache.build(key, ".plan", builder) == path and len(calls) == 1  # cached: no rebuild
    assert cache.entries() == [key]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_damaged_entries_are_not_accepted(tmp_path):
    cache = EngineCache(tmp_path)
    key = cache_key(_parts())
    path = cache.build(key, ".plan", _write(b"0123456789")[0])
    path.write_bytes(b"01234")  # truncated
    assert cache.get(key) is None
    path.write_bytes(b"0123456789")
    assert cache.get(key) == path
    path.write_bytes(b"x123456789")  # same size, other content
    assert cache.get(key) == path and cache.get(key, verify=True) is None
    (path.parent / "manifest.json").write_text("{")
    assert cache.get(key) is None
    path2 = cache.build(key, ".plan", _write(b"rebuilt")[0])  # a damaged entry is replaced
    assert path2.read_bytes() == b"rebuilt" and cache.get(key, verify=True) == path2


def _no_trace(cache: EngineCache, key: str):
    assert cache.get(key) is None
    assert not cache.entry_dir(key).exists()
    assert not [p for p in cache.root.iterdir() if p.name.startswith(".tmp-")]


def test_builder_exception_is_one_line_and_leaves_nothing(tmp_path):
    cache = EngineCache(tmp_path)
    key = cache_key(_parts())

    def builder(path, progress, cancel):
        path.write_bytes(b"half an engine")
        raise ValueError("parser said:\n  node 7 is odd")

    with pytest.raises(AccelBuildError) as e:
        cache.build(key, ".plan", builder, what="UNet engine")
    assert str(e.value) == "UNet engine build failed: parser said: node 7 is odd"
    _no_trace(cache, key)


def test_empty_output_is_a_failure(tmp_path):
    cache = EngineCache(tmp_path)
    key = cache_key(_parts())
    with pytest.raises(AccelBuildError, match="wrote no model.plan"):
        cache.build(key, ".plan", lambda p, progress, cancel: p.write_bytes(b""))
    with pytest.raises(AccelBuildError, match="failed validation: bad magic"):
        cache.build(key, ".plan", _write(b"abc")[0], validate=lambda p: (_ for _ in ()).throw(ValueError("bad magic")))
    _no_trace(cache, key)


def test_cancel_mid_build_leaves_nothing(tmp_path):
    cache = EngineCache(tmp_path)
    key = cache_key(_parts())
    cancel = Cancel()

    def builder(path, progress, cancel_token):
        path.write_bytes(b"partial")
        cancel.set()  # the user presses cancel while the builder works
        progress(0.6, "tactics")

    with pytest.raises(BuildCancelled, match="cancelled"):
        cache.build(key, ".plan", builder, cancel=cancel)
    _no_trace(cache, key)
    # a plain threading.Event works as the token too
    ev = threading.Event()
    ev.set()
    with pytest.raises(BuildCancelled):
        cache.build(key, ".plan", _write(b"x")[0], cancel=ev)
    _no_trace(cache, key)


KILLED_BUILD = textwrap.dedent(
    """
    import sys, time
    from engine.accel.cache import EngineCache
    def builder(path, progress, cancel):
        with open(path, "wb") as f:
            f.write(b"x" * 4096)
            f.flush()
            print("writing", flush=True)
            time.sleep(60)
            f.write(b"y")
    EngineCache(sys.argv[1]).build(sys.argv[2], ".plan", builder)
    """
)


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_killed_build_leaves_nothing_valid_and_is_cleaned(tmp_path):
    cache = EngineCache(tmp_path)
    key = cache_key(_parts())
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_BUILD, str(tmp_path), key], cwd=REPO, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        assert proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert cache.get(key) is None and cache.entries() == []
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]  # the dead build's leftovers
    path = cache.build(key, ".plan", _write(b"good")[0])  # the next build cleans them up
    assert cache.get(key) == path
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".tmp-")]


def test_concurrent_builds_of_one_key_build_once(tmp_path):
    cache_a, cache_b = EngineCache(tmp_path), EngineCache(tmp_path)  # as two processes would
    key = cache_key(_parts())
    started = threading.Event()
    release = threading.Event()
    calls = []

    def slow(path, progress, cancel):
        calls.append(1)
        started.set()
        release.wait(5)
        path.write_bytes(b"engine")

    results = {}
    t1 = threading.Thread(target=lambda: results.setdefault("a", cache_a.build(key, ".plan", slow)))
    t1.start()
    started.wait(5)
    t2 = threading.Thread(target=lambda: results.setdefault("b", cache_b.build(key, ".plan", slow)))
    t2.start()
    release.set()
    t1.join(10)
    t2.join(10)
    assert results["a"] == results["b"] == cache_a.get(key)
    assert len(calls) == 1


def test_cancel_while_waiting_for_another_build(tmp_path):
    cache = EngineCache(tmp_path)
    key = cache_key(_parts())
    started, release = threading.Event(), threading.Event()

    def slow(path, progress, cancel):
        started.set()
        release.wait(5)
        path.write_bytes(b"engine")

    t = threading.Thread(target=lambda: cache.build(key, ".plan", slow))
    t.start()
    started.wait(5)
    cancel = Cancel()
    cancel.set()
    try:
        with pytest.raises(BuildCancelled):
            EngineCache(tmp_path).build(key, ".plan", slow, cancel=cancel)
    finally:
        release.set()
        t.join(10)
    assert cache.get(key) is not None
