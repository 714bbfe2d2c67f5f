import pytest
import torch


@pytest.fixture(autouse=True)
def isolated_store(tmp_path, monkeypatch):
    """Every test writes results and checkpoints under its own tmp dir, never into data/results."""
    monkeypatch.setenv("RESDEPTH_RESULTS", str(tmp_path / "results"))
    torch.manual_seed(0)
    return tmp_path / "results"


@pytest.fixture(scope="session")
def sample():
    from resdepth.data import load_dataset

    return load_dataset("sample")
