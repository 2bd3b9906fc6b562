import pytest
import torch

from pulse import pulse_server


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
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
