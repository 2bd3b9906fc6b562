import pytest
from pulse import pulse  # noqa: F401  (the fixture)

from engine.torch_threads import torch_threads


@pytest.fixture
def one_torch_thread():
    """The flow's ops are small: intra-op threads only add waiting (badly so on a busy machine)."""
    with torch_threads(1):
        yield
