import math

import pytest

from resdepth.analysis import best_over_lr, format_cell, paper_numbers, run_table


def record(row, depth, lr, seed, acc, status="ok"):
    return {"config": {"model_args": {"depth": depth, "row": row}, "lr": lr, "seed": seed}, "status": status,
            "reason": None if status == "ok" else "non-finite training loss by step 3",
            "best": {"test_acc": acc} if status == "ok" else None}


def test_best_over_lr_takes_the_best_mean_and_its_standard_error():
    records = [record("A", 10, 0.1, 0, 0.80), record("A", 10, 0.1, 1, 0.84),
               record("A", 10, 0.5, 0, 0.90), record("A", 10, 0.5, 1, 0.70),  # mean 0.80 < 0.82
               record("A", 10, 1.0, 0, 0.99), record("A", 10, 1.0, 1, 0.0, status="diverged")]  # excluded
    cells = best_over_lr(run_table(records, lambda r: r["config"]["model_args"]["row"]))
    (cell,) = cells.to_dict("records")
    assert cell["lr"] == 0.1 and cell["mean"] == pytest.approx(0.82)
    assert cell["se"] == pytest.approx(0.02)  # std 0.0283 / sqrt(2)
    assert format_cell(cell["mean"], cell["se"]) == "82.00 ± 2.00"


def test_all_diverged_cell_is_a_dash_with_the_reason():
    records = [record("B", 100, lr, s, 0, status="diverged") for lr in (0.1, 0.2) for s in (0, 1)]
    records.append(record("B", 10, 0.1, 0, 0.5))
    cells = best_over_lr(run_table(records, lambda r: r["config"]["model_args"]["row"])).set_index("depth")
    assert cells.loc[100, "status"] == "diverged" and "4 of 4" in cells.loc[100, "reason"]
    assert format_cell(cells.loc[100, "mean"], cells.loc[100, "se"]) == "—"
    assert format_cell(cells.loc[10, "mean"], cells.loc[10, "se"]) == "50.00"  # one seed: no error bar
    assert math.isnan(cells.loc[10, "se"])


def test_paper_table1_numbers_are_committed():
    paper = paper_numbers("table1")
    assert len(paper) == 12 and set(paper["depth"]) == {10, 100, 1000}
    sqrt_row = paper[(paper["row"] == "λ=1/√n without BN") & (paper["depth"] == 100)].iloc[0]
    assert sqrt_row["acc_mean"] == 89.02
    assert paper["acc_mean"].isna().sum() == 2  # the two omitted λ=1 without BN cells


def test_committed_results_are_found_by_their_configs():
    """Every results file in data/results parses and is named by the hash of its own config, so a
    change to the hashing can never silently orphan the book's stored runs."""
    import json

    from resdepth.config import RunConfig
    from resdepth.paths import project_data_dir

    files = list((project_data_dir() / "results").glob("*/*.json"))
    assert files
    for f in files:
        stored = json.loads(f.read_text())
        assert RunConfig.from_dict(stored["config"]).key == stored["key"] == f.stem, f


def linearization_record(granularity, omega, seed, napl, acc, status="ok"):
    return {"config": {"linearize": granularity, "omega": omega, "seed": seed}, "status": status,
            "linearization": {"napl": napl}, "final": {"test_acc": acc} if status == "ok" else None}


def test_matched_napl_gaps_interpolate_channelwise_accuracy_at_layerwise_napl():
    from resdepth.analysis import gap_verdict, linearization_runs, matched_napl_gaps

    records = []
    for seed, shift in [(0, 0.0), (1, 0.01)]:
        records += [linearization_record("channel", 0.1, seed, 2.0, 0.80 + shift),
                    linearization_record("channel", 0.01, seed, 6.0, 0.90 + shift),
                    linearization_record("layer", 1.0, seed, 4.0, 0.70 + shift),   # channel at NAPL 4: 0.85
                    linearization_record("layer", 0.1, seed, 9.0, 0.95)]           # outside the channel range
    records.append(linearization_record("layer", 10.0, 0, 0.0, 0.0, status="diverged"))
    gaps = matched_napl_gaps(linearization_runs(records))
    assert list(gaps["napl"]) == [4.0]
    row = gaps.iloc[0]
    assert row["channel_acc"] == pytest.approx(0.855) and row["layer_acc"] == pytest.approx(0.705)
    assert row["gap"] == pytest.approx(0.15) and row["seeds"] == 2
    assert row["gap_se"] == pytest.approx(0.0, abs=1e-12) and row["outside_spread"]  # the same gap for both seeds
    lines, text, verdict = gap_verdict(gaps)
    assert "+15.00" in text and verdict.startswith("partly")


def test_gap_verdict_says_not_reproduced_when_layerwise_wins():
    from resdepth.analysis import gap_verdict, linearization_runs, matched_napl_gaps

    records = []
    for seed, noise in [(0, 0.0), (1, 0.004), (2, -0.004)]:
        records += [linearization_record("channel", 0.1, seed, 2.0, 0.70 + noise),
                    linearization_record("channel", 0.01, seed, 6.0, 0.80 + noise),
                    linearization_record("layer", 1.0, seed, 3.0, 0.85 + noise)]
    gaps = matched_napl_gaps(linearization_runs(records))
    assert gaps.iloc[0]["gap"] < 0
    assert gap_verdict(gaps)[2] == "not reproduced"
