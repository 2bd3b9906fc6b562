import pytest
from pulse import pulse_server

from engine.torch_threads import torch_threads


@pytest.fixture
def pulse():
    """A private PulseAudio server with the null sink ``dd_out`` (see pulse.py)."""
    server = pulse_server()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def one_torch_thread():
    """The flow's ops are small: intra-op threads only add waiting (badly so on a busy machine)."""
    with torch_threads(1):
        yield
