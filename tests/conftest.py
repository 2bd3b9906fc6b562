import os

# Tests never touch the network: no weights are ever downloaded in a test run.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


import threading

import pytest
import torch
from waiting import wait_for


@pytest.fixture
def store():
    """A fresh parameter registry with every engine parameter at its default (the one `store` of the suite)."""
    from engine.params.catalog import engine_store

    return engine_store()


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


# Threads that libraries start once per process and keep (not ours to stop).
# "dreamdeck-styles": the style network's painter threads, made once per process and shared by every style stream
# by design (engine.styles.stream.painters); the soak checks that the thread count stays flat over reloads
_LIBRARY_THREADS = ("TMonitor", "tqdm_monitor", "pydevd", "ThreadPoolExecutor", "asyncio_", "dreamdeck-styles")


@pytest.fixture(autouse=True)
def no_thread_left_behind():
    """Fail any test that leaves a thread running (the live engine must stop cleanly)."""
    before = set(threading.enumerate())
    yield

    def extra():
        return [t.name for t in threading.enumerate() if t not in before and t.is_alive() and not t.name.startswith(_LIBRARY_THREADS)]

    wait_for(lambda: not extra(), timeout=5.0, what=lambda: f"threads left running: {extra()}")
