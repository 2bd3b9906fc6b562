"""A local model folder loads offline even when its optional extras (tiny VAE, LCM-LoRA) are not cached.

Real diffusers folders built from the tiny model's small random-weight components, offline
mode and an empty private Hugging Face cache: nothing is ever downloaded.  An extra that
cannot be had is skipped with one warning (what it costs, how to get it), the model loads
with its full VAE; the CLI prints the warning as one line with the flag that silences it.
"""

import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from engine.diffusion.model_loader import LoadWarning, ModelLoadError, load_model
from hub_helpers import COMMIT, LCM_LORA_SD15, same_weights, save_tiny_pipeline

from engine.diffusion.tiny_model import tiny_components

ROOT = Path(__file__).resolve().parents[3]
TAESD = "madebyollin/taesd"
REGISTRY_FIELDS = ("tiny_vae=", "lcm_lora=")


@pytest.fixture(scope="module")
def sd_folder(tmp_path_factory):
    """The tiny model saved as a plain SD 1.5-style diffusers folder (not turbo, not LCM: it wants both extras)."""
    return save_tiny_pipeline(tmp_path_factory.mktemp("models") / "my-sd-folder", tiny_components())


def load_with_warnings(name, **options):
    warnings = []
    bundle = load_model(str(name), warn=warnings.append, **options)
    assert all(isinstance(w, LoadWarning) for w in warnings)
    for w in warnings:
        assert "\n" not in w.text and not any(field in w.text for field in REGISTRY_FIELDS)
        assert "--no-" not in w.text  # the surface adds its own flag or control
    return bundle, warnings


def test_missing_tiny_vae_is_skipped_with_one_warning_and_the_full_vae(sd_folder, tiny):
    bundle, warnings = load_with_warnings(sd_folder, lcm_lora=False)
    assert [w.option for w in warnings] == ["tiny_vae"]
    text = warnings[0].text
    assert TAESD in text and "offline" in text and "full VAE" in text and "slower" in text and "download" in text
    assert bundle.tiny_vae is None
    assert bundle.autoencoder(True) is bundle.vae  # a stream asking for the tiny VAE decodes with the full one
    assert same_weights(bundle.vae, tiny["vae"]) and same_weights(bundle.unet, tiny["unet"])
    with torch.no_grad():  # and that VAE really decodes
        image = bundle.vae.decode(torch.zeros(1, 4, 8, 8)).sample
    assert image.shape == (1, 3, 64, 64) and torch.isfinite(image).all()


def test_missing_lcm_lora_is_skipped_with_one_warning(sd_folder, tiny):
    bundle, warnings = load_with_warnings(sd_folder, tiny_vae=False)
    assert [w.option for w in warnings] == ["lcm_lora"]
    text = warnings[0].text
    assert LCM_LORA_SD15 in text and "offline" in text and "steps" in text and "download" in text
    assert bundle.loras == {}
    assert same_weights(bundle.unet, tiny["unet"])  # nothing fused


def test_both_missing_give_one_warning_each(sd_folder):
    bundle, warnings = load_with_warnings(sd_folder)
    assert [w.option for w in warnings] == ["tiny_vae", "lcm_lora"]
    assert bundle.tiny_vae is None and bundle.loras == {}


def test_cached_tiny_vae_is_used_without_a_warning(sd_folder, offline_hub, tiny):
    snapshot = offline_hub / ("models--" + TAESD.replace("/", "--")) / "snapshots" / COMMIT
    snapshot.mkdir(parents=True)
    (snapshot.parents[1] / "refs").mkdir()
    (snapshot.parents[1] / "refs" / "main").write_text(COMMIT)
    tiny["tiny_vae"].save_pretrained(snapshot, safe_serialization=True)
    bundle, warnings = load_with_warnings(sd_folder, lcm_lora=False)
    assert warnings == []
    assert bundle.tiny_vae is not None and same_weights(bundle.tiny_vae, tiny["tiny_vae"])


def test_extras_turned_off_give_no_warning(sd_folder):
    bundle, warnings = load_with_warnings(sd_folder, tiny_vae=False, lcm_lora=False)
    assert warnings == [] and bundle.tiny_vae is None


def test_unreachable_hub_skips_the_tiny_vae_too(sd_folder, monkeypatch):
    """Online mode at a venue without internet (a closed local port stands in for the hub)."""
    import socket

    from huggingface_hub import constants

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{closed_port}")
    bundle, warnings = load_with_warnings(sd_folder, lcm_lora=False)
    assert [w.option for w in warnings] == ["tiny_vae"]
    assert "could not be reached" in warnings[0].text and bundle.tiny_vae is None


def test_without_a_warning_channel_it_is_an_error_naming_no_registry_field(sd_folder):
    for options in ({"lcm_lora": False}, {"tiny_vae": False}):
        with pytest.raises(ModelLoadError) as info:
            load_model(str(sd_folder), **options)
        assert "offline" in str(info.value)
        assert not any(field in str(info.value) for field in REGISTRY_FIELDS), str(info.value)


# -- the command line ------------------------------------------------------------------------------

def dreamdeck(*args, env):
    return subprocess.run([sys.executable, "-m", "app.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, **env), timeout=300)


def test_render_with_a_local_folder_offline_warns_once_per_extra_and_succeeds(sd_folder, tmp_path):
    src, dst = tmp_path / "in.png", tmp_path / "out.png"
    cv2.imwrite(str(src), np.full((48, 64, 3), 90, np.uint8))
    hf = tmp_path / "empty-hf"
    env = {"HF_HUB_OFFLINE": "1", "HF_HOME": str(hf), "HF_HUB_CACHE": str(hf / "hub")}
    r = dreamdeck("render", "--model", str(sd_folder), "-i", str(src), "-o", str(dst), "--size", "64",
                  "--prompt", "neon", "-q", env=env)
    assert r.returncode == 0, r.stderr
    # (transformers 5 draws its own "Loading weights" bar on stderr: not ours, so only our lines are counted)
    lines = [line for line in r.stderr.splitlines() if line.startswith("dreamdeck:")]
    assert len(lines) == 2 and all(line.startswith("dreamdeck: warning: ") for line in lines), r.stderr
    tiny_vae_line, lcm_line = lines
    assert TAESD in tiny_vae_line and "full VAE" in tiny_vae_line and tiny_vae_line.endswith("--no-tiny-vae to silence this")
    assert LCM_LORA_SD15 in lcm_line and lcm_line.endswith("--no-lcm-lora to silence this")
    assert not any(field in r.stderr for field in REGISTRY_FIELDS)
    out = cv2.imread(str(dst))
    assert out is not None and out.shape == (48, 64, 3)

    r = dreamdeck("render", "--model", str(sd_folder), "-i", str(src), "-o", str(dst), "--size", "64",
                  "--prompt", "neon", "-q", "--no-tiny-vae", "--no-lcm-lora", env=env)
    assert r.returncode == 0, r.stderr
    assert "dreamdeck:" not in r.stderr  # turned off: nothing to warn about
