import pytest

from resdepth import profiles
from resdepth.errors import ConfigError


def test_profile_fills_what_the_notebook_leaves_at_none():
    settings = profiles.resolve("training_basics", "book", depth=None, width=48)
    assert settings["width"] == 48 and settings["depth"] == profiles.BUDGETS["training_basics"]["book"]["depth"]
    assert settings["profile"] == "book"


def test_smoke_runs_on_the_committed_sample_and_book_on_the_real_dataset():
    for notebook, budgets in profiles.BUDGETS.items():
        assert budgets["smoke"]["dataset"] == "sample", notebook
        assert budgets["book"]["dataset"] == "fashion_mnist", notebook


def test_profile_errors():
    with pytest.raises(ConfigError, match="unknown profile 'quick'"):
        profiles.resolve("training_basics", "quick")
    with pytest.raises(ConfigError, match="no setting"):
        profiles.resolve("training_basics", "book", depht=3)
    with pytest.raises(ConfigError, match="no budgets for notebook"):
        profiles.resolve("nope", "book")
