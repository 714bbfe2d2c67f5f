"""Aggregations that turn stored run records into the papers' tables."""

import math

import pandas as pd

from .paths import project_data_dir


def run_table(records, row_of) -> pd.DataFrame:
    """One line per run: row label (``row_of(record)``), depth, lr, seed, status, best test accuracy."""
    return pd.DataFrame([
        {"row": row_of(r), "depth": r["config"]["model_args"].get("depth"), "lr": r["config"]["lr"],
         "seed": r["config"]["seed"], "status": r["status"], "reason": r["reason"],
         "best_acc": r["best"]["test_acc"] if (r["status"] == "ok" and r["best"]) else math.nan}
        for r in records
    ])


def best_over_lr(runs: pd.DataFrame) -> pd.DataFrame:
    """Table 1's cell rule (Appendix A.2): for each learning rate, the mean and standard error over
    seeds of each run's best test accuracy; the cell is the learning rate with the best mean.

    A learning rate at which any seed diverged does not count (the paper omits such entries).
    A cell with no learning rate left is "—", with the reason.
    """
    cells = []
    for (row, depth), group in runs.groupby(["row", "depth"], sort=False):
        per_lr = []
        for lr, seeds in group.groupby("lr"):
            if (seeds["status"] == "ok").all():
                per_lr.append({"lr": lr, "mean": seeds["best_acc"].mean(),
                               "se": seeds["best_acc"].sem() if len(seeds) > 1 else math.nan, "seeds": len(seeds)})
        if per_lr:
            best = max(per_lr, key=lambda c: c["mean"])
            cells.append({"row": row, "depth": depth, **best, "status": "ok", "reason": None})
        else:
            diverged = (group["status"] == "diverged").sum()
            reason = f"diverged in {diverged} of {len(group)} runs, at every learning rate tried"
            cells.append({"row": row, "depth": depth, "lr": math.nan, "mean": math.nan, "se": math.nan,
                          "seeds": group["seed"].nunique(), "status": "diverged", "reason": reason})
    return pd.DataFrame(cells)


def format_cell(mean: float, se: float, scale: float = 100.0) -> str:
    """'88.02 ± 0.10' in percent; '—' for a missing cell; no ± for a single seed."""
    if mean != mean:  # NaN
        return "—"
    return f"{mean * scale:.2f}" + (f" ± {se * scale:.2f}" if se == se else "")


def paper_numbers(name: str) -> pd.DataFrame:
    """A table of the paper's published numbers, committed under ``data/paper/``."""
    return pd.read_csv(project_data_dir() / "paper" / f"{name}.csv")
