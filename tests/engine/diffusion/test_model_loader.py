"""The model loader with real diffusers/transformers classes and small models, never the network.

Every test runs in offline mode with a Hugging Face cache under tmp_path; where a
test needs a "downloaded" repository it writes one into that cache in the hub's
own layout (models--org--name/refs/main + snapshots/<commit>/...).
"""

import shutil
import threading
from pathlib import Path

import pytest
import torch
from diffusers import (
    AutoencoderKL,
    LCMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from safetensors.torch import save_file

from engine.diffusion.model_loader import (
    ModelLoadError,
    describe_source,
    family_from_unet_config,
    load_model,
)
from engine.diffusion.model_sources import checkpoint_family
from hub_helpers import COMMIT, LCM_LORA_SD15, same_weights, save_tiny_pipeline

from engine.diffusion.tiny_model import tiny_components, tiny_sdxl_components



# -- fixtures ----------------------------------------------------------------------------------

def cached_repo(cache: Path, repo_id: str) -> Path:
    """An empty snapshot folder of ``repo_id`` in the hub cache layout; fill it, then it is 'cached'."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    snapshot = repo / "snapshots" / COMMIT
    snapshot.mkdir(parents=True, exist_ok=True)
    return snapshot


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory):
    """The tiny model saved as a diffusers folder (do not modify it: copy it first)."""
    return save_tiny_pipeline(tmp_path_factory.mktemp("tiny") / "tiny-model", tiny_components())


@pytest.fixture(scope="module")
def tiny_lora(tmp_path_factory):
    """A non-zero LoRA for the tiny UNet, in the diffusers LoRA file format."""
    from diffusers.utils import convert_state_dict_to_diffusers
    from peft import LoraConfig, get_peft_model_state_dict

    unet = tiny_components()["unet"]
    with torch.random.fork_rng():
        torch.manual_seed(5)
        unet.add_adapter(LoraConfig(r=4, lora_alpha=4, init_lora_weights=False,
                                    target_modules=["to_q", "to_k", "to_v", "to_out.0"]))
    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet))
    folder = tmp_path_factory.mktemp("lora")
    StableDiffusionPipeline.save_lora_weights(folder, unet_lora_layers=layers, safe_serialization=True)
    return folder / "pytorch_lora_weights.safetensors"


def unet_output(unet) -> torch.Tensor:
    gen = torch.Generator().manual_seed(0)
    latents = torch.randn(1, 4, 32, 32, generator=gen)
    text = torch.randn(1, 77, 32, generator=gen)
    with torch.no_grad():
        return unet(latents, 10, encoder_hidden_states=text).sample


def load_error(*args, **kwargs) -> str:
    with pytest.raises(ModelLoadError) as info:
        load_model(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


# -- the built-in model ------------------------------------------------------------------------

def test_tiny_loads_with_its_tiny_vae(tiny):
    bundle = load_model("tiny")
    assert describe_source("tiny") == "built-in"
    assert (bundle.family, bundle.is_turbo, bundle.loras) == ("sd15", False, {})
    assert bundle.device == torch.device("cpu") and bundle.dtype == torch.float32
    tokens, pooled = bundle.encode_text("hi")
    assert tokens.shape == (1, 77, 32) and pooled is None
    assert bundle.tiny_vae is not None
    assert same_weights(bundle.unet, tiny["unet"])  # same seed, fresh modules
    assert bundle.unet is not tiny["unet"]
    assert not any(p.requires_grad for p in bundle.unet.parameters())
    assert not bundle.unet.training
    assert bundle.scheduler_config["prediction_type"] == "epsilon"


def test_tiny_without_tiny_vae():
    assert load_model("tiny", tiny_vae=False).tiny_vae is None


def test_progress_moves_forward_to_done():
    seen = []
    load_model("tiny", progress=lambda stage, fraction: seen.append((stage, fraction)))
    fractions = [f for _, f in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert all(isinstance(stage, str) and stage for stage, _ in seen)


def test_cancel_before_start():
    cancel = threading.Event()
    cancel.set()
    assert "cancelled" in load_error("tiny", cancel=cancel)


def test_cancel_between_stages(tiny_folder, tiny_lora):
    cancel = threading.Event()
    stages = []

    def progress(stage, fraction):
        stages.append(stage)
        if len(stages) == 2:
            cancel.set()

    assert "cancelled" in load_error(str(tiny_folder), tiny_vae=False, lcm_lora=False, progress=progress,
                                     cancel=cancel)
    assert len(stages) == 2  # it stopped at the next stage edge


def test_out_of_memory_is_explained(monkeypatch):
    def no_memory(*_a, **_k):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 MiB")

    monkeypatch.setattr("engine.diffusion.tiny_model.tiny_components", no_memory)
    message = load_error("tiny")
    assert "memory" in message and "fp16" in message and "smaller model" in message


def test_missing_path_is_named():
    message = load_error("./no/such/model-folder")
    assert "No model folder or file" in message


# -- diffusers folders ---------------------------------------------------------------------------

def test_folder_loads_the_saved_weights(tiny_folder, tiny):
    bundle = load_model(str(tiny_folder), tiny_vae=False, lcm_lora=False)
    assert describe_source(str(tiny_folder)) == "folder"
    assert bundle.family == "sd15" and not bundle.is_turbo and bundle.tiny_vae is None
    for part in ("unet", "vae", "text_encoder"):
        assert same_weights(getattr(bundle, part), tiny[part]), part
    assert isinstance(bundle.unet, UNet2DConditionModel) and isinstance(bundle.vae, AutoencoderKL)
    assert torch.equal(bundle.encode_text("a red fox")[0], load_model("tiny").encode_text("a red fox")[0])
    assert isinstance(bundle.scheduler_config, dict)
    LCMScheduler.from_config(bundle.scheduler_config)  # usable as is


def test_folder_keeps_prediction_type_and_betas(tiny_folder, tmp_path):
    import json

    folder = Path(shutil.copytree(tiny_folder, tmp_path / "v-model"))
    config_file = folder / "scheduler" / "scheduler_config.json"
    config = json.loads(config_file.read_text())
    config.update(_class_name="EulerDiscreteScheduler", prediction_type="v_prediction", beta_end=0.02,
                  use_karras_sigmas=False)
    config_file.write_text(json.dumps(config))
    bundle = load_model(str(folder), tiny_vae=False, lcm_lora=False)
    assert bundle.prediction_type == "v_prediction"
    assert bundle.scheduler_config["beta_end"] == 0.02
    assert "use_karras_sigmas" not in bundle.scheduler_config


def test_folder_with_only_pickled_weights_is_refused(tiny_folder, tmp_path):
    folder = Path(shutil.copytree(tiny_folder, tmp_path / "old-model"))
    weights = folder / "unet" / "diffusion_pytorch_model.safetensors"
    weights.rename(weights.with_name("diffusion_pytorch_model.bin"))  # never read: refused by name
    message = load_error(str(folder), tiny_vae=False, lcm_lora=False)
    assert "pickled" in message and ".safetensors" in message and "unet" in message


def test_turbo_folder_gets_no_lcm_lora(tiny_folder, tmp_path):
    folder = shutil.copytree(tiny_folder, tmp_path / "my-sd-turbo")
    bundle = load_model(str(folder), tiny_vae=False)  # lcm_lora on, and nothing cached: not needed
    assert bundle.is_turbo and bundle.loras == {}


def test_lcm_lora_missing_offline_says_how_to_go_on(tiny_folder):
    message = load_error(str(tiny_folder), tiny_vae=False)
    assert LCM_LORA_SD15 in message and "offline" in message and "--no-lcm-lora" in message


def test_lcm_lora_from_cache_is_fused(tiny_folder, tiny_lora, offline_hub, tiny):
    shutil.copy(tiny_lora, cached_repo(offline_hub, LCM_LORA_SD15) / "pytorch_lora_weights.safetensors")
    bundle = load_model(str(tiny_folder), tiny_vae=False)
    assert bundle.loras == {LCM_LORA_SD15: 1.0}
    assert not torch.allclose(unet_output(bundle.unet), unet_output(tiny["unet"]), atol=1e-4)
    assert not any("lora" in name for name, _ in bundle.unet.named_modules())  # fused, layers gone


def test_tiny_vae_missing_offline_says_how_to_go_on(tiny_folder):
    message = load_error(str(tiny_folder), lcm_lora=False)
    assert "madebyollin/taesd" in message and "tiny VAE off" in message


# -- Hugging Face ids ----------------------------------------------------------------------------

def test_unknown_hub_id_offline():
    assert describe_source("nobody-here/no-such-model") == "hub id"
    message = load_error("nobody-here/no-such-model")
    assert message.startswith("Model 'nobody-here/no-such-model' is not in the local Hugging Face cache")
    assert "offline" in message and "HF_HUB_OFFLINE" in message and "--model" in message


def test_hub_id_loads_from_the_cache(tiny_folder, offline_hub, tiny):
    shutil.copytree(tiny_folder, cached_repo(offline_hub, "dreamdeck-test/tiny-sd-turbo"), dirs_exist_ok=True)
    tiny["tiny_vae"].save_pretrained(cached_repo(offline_hub, "madebyollin/taesd"), safe_serialization=True)
    seen = []
    bundle = load_model("dreamdeck-test/tiny-sd-turbo", progress=lambda s, f: seen.append(f))
    assert bundle.is_turbo and bundle.loras == {} and bundle.family == "sd15"
    assert same_weights(bundle.unet, tiny["unet"]) and same_weights(bundle.tiny_vae, tiny["tiny_vae"])
    assert seen[-1] == 1.0


# -- single .safetensors files -------------------------------------------------------------------

def test_truncated_safetensors_is_reported(tmp_path):
    path = tmp_path / "model.safetensors"
    save_file({"model.diffusion_model.input_blocks.0.0.weight": torch.zeros(64, 4, 3, 3)}, str(path))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    message = load_error(str(path))
    assert "not a valid .safetensors file" in message and "download it again" in message


def test_unrelated_safetensors_is_not_a_model(tmp_path):
    path = tmp_path / "weights.safetensors"
    save_file({"foo": torch.zeros(3)}, str(path))
    assert describe_source(str(path)) == "single file"
    assert "does not look like an SD 1.5, SD 2.x or SDXL checkpoint" in load_error(str(path))


@pytest.mark.parametrize("suffix", [".ckpt", ".pt", ".bin", ".pth"])
def test_pickled_checkpoints_are_refused(tmp_path, suffix):
    path = tmp_path / f"model{suffix}"
    path.write_bytes(b"not even read")
    message = load_error(str(path))
    assert "pickled" in message and "convert it to .safetensors" in message


def test_single_file_needs_family_configs_offline(tmp_path):
    path = tmp_path / "my-model.safetensors"
    save_file({
        "model.diffusion_model.input_blocks.0.0.weight": torch.zeros(8, 4, 3, 3),
        "cond_stage_model.transformer.text_model.embeddings.position_ids": torch.zeros(1, 77),
    }, str(path))
    message = load_error(str(path))
    assert "SD 1.5 configuration" in message and "offline" in message and "diffusers folder" in message


@pytest.mark.parametrize("keys, family", [
    (["model.diffusion_model.x", "cond_stage_model.transformer.text_model.x"], "sd15"),
    (["model.diffusion_model.x", "cond_stage_model.model.transformer.resblocks.0.x"], "sd21"),
    (["model.diffusion_model.x", "conditioner.embedders.0.transformer.x", "conditioner.embedders.1.model.x"], "sdxl"),
])
def test_checkpoint_family_from_tensor_names(keys, family):
    shapes = {k: (1,) for k in keys}
    assert checkpoint_family(shapes, Path("m.safetensors")) == family


def test_sdxl_refiner_and_inpainting_checkpoints_are_refused():
    refiner = {"model.diffusion_model.x": (1,), "conditioner.embedders.0.model.x": (1,)}
    with pytest.raises(ModelLoadError, match="refiner"):
        checkpoint_family(refiner, Path("r.safetensors"))
    inpaint = {"model.diffusion_model.input_blocks.0.0.weight": (320, 9, 3, 3), "cond_stage_model.transformer.x": (1,)}
    with pytest.raises(ModelLoadError, match="inpainting"):
        checkpoint_family(inpaint, Path("i.safetensors"))


@pytest.mark.parametrize("config, family", [
    ({"cross_attention_dim": 768}, "sd15"),
    ({"cross_attention_dim": 1024}, "sd21"),
    ({"cross_attention_dim": 2048, "addition_embed_type": "text_time"}, "sdxl"),
    ({"cross_attention_dim": 32}, "sd15"),
])
def test_family_from_unet_config(config, family):
    assert family_from_unet_config(config) == family


# -- user LoRAs ------------------------------------------------------------------------------------

def test_user_lora_changes_the_unet(tiny_lora, tiny):
    bundle = load_model("tiny", loras=[(str(tiny_lora), 1.0)])
    assert bundle.loras == {str(tiny_lora): 1.0}
    assert not torch.allclose(unet_output(bundle.unet), unet_output(tiny["unet"]), atol=1e-4)


def test_user_lora_at_scale_zero_changes_nothing(tiny_lora):
    # against a fresh base load: the session's shared 'tiny' may have been made channels-last
    bundle = load_model("tiny", loras=[(str(tiny_lora), 0.0)])
    torch.testing.assert_close(unet_output(bundle.unet), unet_output(load_model("tiny").unet), atol=1e-6, rtol=0)


def test_lora_folder_is_accepted(tiny_lora, tiny):
    bundle = load_model("tiny", loras=[(str(tiny_lora.parent), 0.5)])
    assert bundle.loras == {str(tiny_lora.parent): 0.5}


def test_truncated_lora_is_reported(tiny_lora, tmp_path):
    bad = tmp_path / "bad.safetensors"
    data = tiny_lora.read_bytes()
    bad.write_bytes(data[: len(data) // 2])
    message = load_error("tiny", loras=[(str(bad), 1.0)])
    assert "LoRA" in message and "truncated or corrupt" in message


def test_lora_for_another_model_is_reported(tmp_path):
    odd = tmp_path / "odd.safetensors"
    save_file({"unet.nowhere.lora.down.weight": torch.zeros(4, 3), "unet.nowhere.lora.up.weight": torch.zeros(3, 4)},
              str(odd))
    message = load_error("tiny", loras=[(str(odd), 1.0)])
    assert "does not fit this SD 1.5 model" in message


def test_pickled_lora_is_refused(tmp_path):
    path = tmp_path / "style.pt"
    path.write_bytes(b"never read")
    assert "pickled" in load_error("tiny", loras=[(str(path), 1.0)])


# -- SDXL layout -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_sdxl_folder(tmp_path_factory):
    """A tiny SDXL-shaped pipeline (two text encoders, text_time UNet) saved as a diffusers folder."""
    c = tiny_sdxl_components()
    folder = tmp_path_factory.mktemp("sdxl") / "tiny-sdxl"
    StableDiffusionXLPipeline(
        vae=c["vae"], text_encoder=c["text_encoder"], text_encoder_2=c["text_encoder_2"], tokenizer=c["tokenizer"],
        tokenizer_2=c["tokenizer_2"], unet=c["unet"], scheduler=LCMScheduler(steps_offset=1),
    ).save_pretrained(folder, safe_serialization=True)
    return folder


def test_sdxl_folder_loads_both_text_encoders(tiny_sdxl_folder):
    bundle = load_model(str(tiny_sdxl_folder), tiny_vae=False, lcm_lora=False)
    assert bundle.family == "sdxl"
    assert bundle.text_encoder_2 is not None and bundle.tokenizer_2 is not None
    tokens, pooled = bundle.encode_text("hi")
    assert tokens.shape == (1, 77, 64) and pooled.shape == (1, 32)


def test_sdxl_wants_the_sdxl_lcm_lora(tiny_sdxl_folder):
    message = load_error(str(tiny_sdxl_folder), tiny_vae=False)
    assert "latent-consistency/lcm-lora-sdxl" in message


# -- the network -----------------------------------------------------------------------------------

def test_unreachable_hub_is_a_clear_error(monkeypatch):
    """Online mode, but the hub's address refuses connections (a closed local port stands in for it)."""
    import socket

    from huggingface_hub import constants

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "ENDPOINT", f"http://127.0.0.1:{closed_port}")
    message = load_error("nobody-here/no-such-model")
    assert message.startswith("Could not reach the Hugging Face hub")
    assert "internet connection" in message and "--model" in message


def test_download_bar_reports_bytes_and_stops_on_cancel():
    """The tqdm class handed to snapshot_download: silent, reports progress, raises when cancelled."""
    from engine.diffusion.model_sources import download_bar_class

    seen = []
    cancel = threading.Event()
    bar_class = download_bar_class(lambda done, text: seen.append((done, text)), "org/model", cancel)
    bar = bar_class(total=4_000_000, initial=0, unit="B", unit_scale=True, desc="Downloading bytes")
    bar.update(1_000_000)
    bar.update(1_000_000)
    assert [d for d, _ in seen] == [0.25, 0.5] and "org/model" in seen[-1][1]
    cancel.set()
    with pytest.raises(ModelLoadError, match="cancelled"):
        bar.update(1)
    bar.close()
