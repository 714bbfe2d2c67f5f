"""The training-basics chapter: its runs, its tables, and that it judges no claim."""

import math

from resdepth.experiments import resolve
from resdepth.experiments import training_basics as tb


def record(seed, final, best, status="ok", speeds=(1000.0, 1200.0, 1100.0)):
    return {"config": {"seed": seed}, "status": status,
            "final": {"test_acc": final} if final is not None else None,
            "best": {"test_acc": best} if best is not None else None,
            "history": [{"images_per_s": v} for v in speeds],
            "provenance": {"git_commit": "0123456789abcdef", "device": "cpu (x86_64, 2 threads)", "wall_time_s": 60.0,
                           "date": "2026-11-22", "profile": "book"}}


def test_summary_table_and_final_accuracy_over_seeds():
    summary = tb.summary_table([record(0, 0.86, 0.87), record(1, 0.88, 0.89)])
    assert list(summary["best test acc"]) == [0.87, 0.89] and list(summary["images/s"]) == [1100.0, 1100.0]
    assert tb.final_accuracy_text(summary) == "Final test accuracy: 0.8700 ± 0.0100 (standard error over 2 seeds)."
    one = tb.summary_table([record(0, 0.86, 0.87)])
    assert tb.final_accuracy_text(one).endswith("(one seed).")


def test_a_diverged_run_has_no_accuracy():
    summary = tb.summary_table([record(0, None, None, status="diverged", speeds=())])
    assert math.isnan(summary["final test acc"][0]) and math.isnan(summary["images/s"][0])


def test_provenance_table_shortens_the_commit():
    prov = tb.provenance_table([record(0, 0.8, 0.8)])
    assert prov["commit"][0] == "01234567" and list(prov.columns)[:2] == ["seed", "status"]


def test_budget_text_sums_the_training_time():
    text = tb.budget_text(resolve(tb.NAME, "book"), [record(0, 0.8, 0.8), record(1, 0.8, 0.8)])
    assert "2.0 min of training" in text and "depth n=16" in text


def test_book_configs_are_the_stored_runs():
    """The book runs hash to the committed results, so the chapter loads them and trains nothing."""
    from resdepth.files import project_data_dir

    stored = {p.stem for p in (project_data_dir() / "results" / tb.NAME).glob("*.json")}
    configs = tb.configs(resolve(tb.NAME, "book"))
    assert {c.key for c in configs} == stored
    assert {c.model_kwargs["lam"] for c in configs} == {"1/sqrt(n)"}


def test_sample_images_are_padded_and_named():
    images = tb.sample_images(count=3)
    assert len(images) == 3 and images[0][0].shape == (32, 32) and images[0][1] in tb.FASHION_CLASSES


def test_verdicts_give_one_verdict_per_claim():
    assert len(tb.verdicts({"records": []}, resolve(tb.NAME, "smoke"))) == len(tb.CLAIMS)
