"""Every model-loader test runs offline on an empty, private Hugging Face cache: none reads the user's."""

import pytest


@pytest.fixture(autouse=True)
def offline_hub(tmp_path, monkeypatch):
    """Offline mode and an empty, private Hugging Face cache; the value is the cache folder."""
    home = tmp_path / "hf"
    monkeypatch.setenv("HF_HOME", str(home))
    monkeypatch.setenv("HF_HUB_CACHE", str(home / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return home / "hub"
