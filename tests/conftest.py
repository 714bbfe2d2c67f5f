import signal

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


@pytest.fixture
def as_terminal_job():
    """A ``preexec_fn`` for a child that must take Ctrl-C as a terminal's foreground job does: a
    job a shell starts in the background (``nohup make test &``) inherits SIGINT ignored, and Python
    keeps it ignored, so a SIGINT test would fail there for a reason outside the code under test."""
    return lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
