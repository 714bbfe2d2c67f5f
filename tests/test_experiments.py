import pytest

from resdepth import profiles
from resdepth.errors import ConfigError


def test_profile_fills_what_the_notebook_leaves_at_none():
    settings = profiles.resolve("training_basics", "book", depth=None, width=48)
    assert settings["width"] == 48 and settings["depth"] == profiles.BUDGETS["training_basics"]["book"]["depth"]
    assert settings["profile"] == "book"


def test_smoke_runs_on_the_committed_sample_and_book_on_the_real_dataset():
    trained = {name: b for name, b in profiles.BUDGETS.items() if "dataset" in b["book"]}
    assert {"training_basics", "table1_depth_scaling", "lambda_sweep"} <= set(trained)
    for notebook, budgets in trained.items():
        assert budgets["smoke"]["dataset"] == "sample", notebook
        assert budgets["book"]["dataset"] == "fashion_mnist", notebook


def test_profile_errors():
    with pytest.raises(ConfigError, match="unknown profile 'quick'"):
        profiles.resolve("training_basics", "quick")
    with pytest.raises(ConfigError, match="no setting"):
        profiles.resolve("training_basics", "book", depht=3)
    with pytest.raises(ConfigError, match="no budgets for notebook"):
        profiles.resolve("nope", "book")


def test_table1_grid_covers_rows_depths_lrs_and_seeds():
    from resdepth.grids import TABLE1_ROWS, table1_configs

    paper = table1_configs(profiles.resolve("table1_depth_scaling", "paper"))
    assert len(paper) == 4 * 3 * 10 * 5 and len({c.key for c in paper}) == len(paper)
    assert {c.model_kwargs["width"] for c in paper if c.model_kwargs["depth"] == 1000} == {128}
    assert {c.model_kwargs["width"] for c in paper if c.model_kwargs["depth"] == 100} == {256}
    assert all(c.steps == 160_000 and c.batch_size == 64 and c.weight_decay == 0 and c.schedule == "constant"
               for c in paper)
    rows = {(c.model_kwargs["lam"], c.model_kwargs["batchnorm"]) for c in paper}
    assert rows == {(r["lam"], r["batchnorm"]) for r in TABLE1_ROWS.values()}
    book = table1_configs(profiles.resolve("table1_depth_scaling", "book"))
    assert [c.model_kwargs["depth"] for c in book] == sorted(c.model_kwargs["depth"] for c in book)
