import pytest

from app.presets.store import PresetStore


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path, monkeypatch):
    """No test touches the real user data folder."""
    monkeypatch.setenv("DREAMDECK_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


@pytest.fixture
def presets(tmp_path, store):
    """User presets in a temp folder, no shipped presets (tests that want them say so)."""
    return PresetStore(tmp_path / "presets", shipped_directory=None, params=store.params)
