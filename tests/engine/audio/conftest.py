import pytest

from pulse import pulse_server


@pytest.fixture
def pulse():
    """A private PulseAudio server with the null sink ``dd_out`` (see pulse.py)."""
    server = pulse_server()
    try:
        yield server
    finally:
        server.close()
