import pytest

from engine.torch_threads import torch_threads


@pytest.fixture(autouse=True)
def one_torch_thread():
    """One intra-op thread: these tests check behaviour, not speed, and on a
    shared CI machine a second spinning thread per process only adds waiting
    (measured: test_manager.py 44 s with two threads under load, 7 s with one)."""
    with torch_threads(1):
        yield
