"""The GPU check (tests/gpu/check_gpu.py) runs here on the CPU: --dry-run takes the
same path (the model in a DiffusionStream, each back end prepared through the accel
parameter, time-boxed, measured) with the tiny model at 128x128 and a few frames."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from engine.accel.cache import EngineCache

SCRIPT = Path(__file__).with_name("check_gpu.py")
REPO = SCRIPT.parents[2]
# torch.compile of even the tiny UNet takes minutes on two shared cores; its own tests cover it
DRY_BACKENDS = "eager,tensorrt,tensorrt-rtx,onnxruntime"


def _run(*args, timeout=180):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "2")}
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_dry_run_measures_every_back_end_and_reports_json_and_the_table(tmp_path):
    p = _run("--dry-run", "--json", "--backends", DRY_BACKENDS, "--cache", str(tmp_path))
    assert p.returncode == 0, p.stderr[-2000:]
    report = json.loads(p.stdout)
    assert report["dry_run"] and report["size"] == 128 and report["backends"] == DRY_BACKENDS.split(",")
    assert report["fps"]["eager"] > 0 and report["fps"]["onnxruntime"] > 0
    assert report["best_vs_eager"] > 0 and report["reference"]["fps"] == 93.9
    results = report["results"]
    assert set(results) == set(report["backends"])
    for name, r in results.items():  # every back end is measured or says why not, in one line
        assert ("fps" in r) != ("skipped" in r) and "\n" not in r.get("skipped", "")
    if not torch.cuda.is_available():
        assert "needs an NVIDIA GPU" in results["tensorrt-rtx"]["skipped"]
    if "skipped" in results["tensorrt"]:
        assert "pip install tensorrt" in results["tensorrt"]["skipped"] or "GPU" in results["tensorrt"]["skipped"]
    assert EngineCache(tmp_path).entries()  # ONNX Runtime's exports went to the given cache
    table = p.stderr  # with --json the table goes to the log
    assert "frames/s" in table and "93.9" in table and "StreamDiffusion" in table and "\neager " in table


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_without_a_gpu_the_real_check_says_so():
    p = _run("--backends", "eager", timeout=60)
    assert p.returncode == 2 and "needs one" in p.stderr and "--dry-run" in p.stderr
