import os

# Tests never touch the network: no weights are ever downloaded in a test run.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


import pytest
import torch


@pytest.fixture(scope="session")
def tiny():
    """The built-in tiny model's components (real diffusers classes, seeded weights)."""
    from engine.diffusion.tiny_model import tiny_components

    torch.set_grad_enabled(False)
    return tiny_components()


@pytest.fixture(scope="session")
def tiny_bundle(tiny):
    from engine.diffusion.model_bundle import ModelBundle

    return ModelBundle(
        name="tiny", family="sd15", unet=tiny["unet"], vae=tiny["vae"], text_encoder=tiny["text_encoder"],
        tokenizer=tiny["tokenizer"], scheduler_config=dict(tiny["scheduler"].config), tiny_vae=tiny["tiny_vae"],
    )
