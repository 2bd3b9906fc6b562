import threading

import pytest
import torch


@pytest.fixture(scope="session")
def tiny():
    """The built-in tiny model's components (real diffusers classes, seeded weights)."""
    from engine.diffusion.tiny_model import tiny_components

    torch.set_grad_enabled(False)
    return tiny_components()
