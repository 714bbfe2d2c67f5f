"""Aggregations that turn stored run records into the papers' tables."""

import math

import numpy as np
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


def linearization_runs(records) -> pd.DataFrame:
    """One line per post-training run: granularity, omega, seed, status, the final NAPL and the
    final test accuracy (the net at the end of post-training is the one that has that NAPL)."""
    return pd.DataFrame([
        {"granularity": r["config"]["linearize"], "omega": r["config"]["omega"], "seed": r["config"]["seed"],
         "status": r["status"],
         "napl": r["linearization"]["napl"] if r["status"] == "ok" else math.nan,
         "test_acc": r["final"]["test_acc"] if r["status"] == "ok" else math.nan}
        for r in records
    ])


def matched_napl_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    """Channel-wise against layer-wise accuracy at matched NAPL (the paper's comparison).

    For each seed and each layer-wise run (an integer NAPL), the channel-wise accuracy of the same
    seed is interpolated linearly in NAPL between its two nearest channel-wise runs; layer-wise
    NAPLs outside the channel-wise range are left out. Rows: one per layer-wise omega, with the mean
    and standard error over seeds of NAPL, both accuracies and the gap (channel minus layer), the
    spread of the gap over seeds, and whether the gap lies outside it (|mean| > 2 s.e.).
    """
    ok = runs[runs["status"] == "ok"]
    matched = []
    for seed, group in ok.groupby("seed"):
        channel = group[group["granularity"] == "channel"].sort_values("napl")
        if len(channel) < 2:
            continue
        for _, layer in group[group["granularity"] == "layer"].iterrows():
            if not channel["napl"].min() <= layer["napl"] <= channel["napl"].max():
                continue
            acc_channel = float(np.interp(layer["napl"], channel["napl"], channel["test_acc"]))
            matched.append({"omega_layer": layer["omega"], "seed": seed, "napl": layer["napl"],
                            "channel_acc": acc_channel, "layer_acc": layer["test_acc"],
                            "gap": acc_channel - layer["test_acc"]})
    matched = pd.DataFrame(matched, columns=["omega_layer", "seed", "napl", "channel_acc", "layer_acc", "gap"])
    rows = []
    for omega, g in matched.groupby("omega_layer"):
        se = g["gap"].sem() if len(g) > 1 else math.nan
        rows.append({"omega_layer": omega, "napl": g["napl"].mean(), "seeds": len(g),
                     "channel_acc": g["channel_acc"].mean(), "channel_se": g["channel_acc"].sem(),
                     "layer_acc": g["layer_acc"].mean(), "layer_se": g["layer_acc"].sem(),
                     "gap": g["gap"].mean(), "gap_se": se, "gap_min": g["gap"].min(), "gap_max": g["gap"].max(),
                     "outside_spread": bool(se == se and abs(g["gap"].mean()) > 2 * se)})
    return pd.DataFrame(rows).sort_values("napl").reset_index(drop=True) if rows else pd.DataFrame(rows)


def gap_table(gaps: pd.DataFrame) -> pd.DataFrame:
    """``matched_napl_gaps`` formatted for the page: percentages with ± standard errors."""
    if not len(gaps):
        return pd.DataFrame({"note": ["no layer-wise NAPL falls inside the channel-wise range"]})
    return pd.DataFrame({
        "NAPL": gaps["napl"].round(2),
        "channel-wise acc. (%)": [format_cell(m, s) for m, s in zip(gaps["channel_acc"], gaps["channel_se"])],
        "layer-wise acc. (%)": [format_cell(m, s) for m, s in zip(gaps["layer_acc"], gaps["layer_se"])],
        "gap (points)": [format_cell(m, s) for m, s in zip(gaps["gap"], gaps["gap_se"])],
        "seeds": gaps["seeds"],
        "outside spread": gaps["outside_spread"],
    })


def gap_verdict(gaps: pd.DataFrame, napl_range: tuple = (3.0, 5.0)) -> tuple:
    """(summary lines, gap text, verdict) for the variable-depth claim of *ResNets Are Deeper*.

    The claim: at low NAPL channel-wise beats layer-wise, with non-overlapping error bars at NAPL
    3 to 5 on CIFAR-100 (``napl_range``), and the gap grows as NAPL falls. Judged on the matched
    NAPLs inside ``napl_range`` (or, if none, the lowest matched NAPL of at least 2: below that the
    nets are all but linear), plus the correlation of the gap with NAPL over matched NAPLs >= 2.
    """
    if not len(gaps):
        return ["No layer-wise NAPL falls inside the channel-wise range."], "no matched NAPL", "not run"
    lo, hi = napl_range
    judged = gaps[(gaps["napl"] >= lo) & (gaps["napl"] <= hi)]
    if not len(judged):
        judged = gaps[gaps["napl"] >= 2].head(1) if (gaps["napl"] >= 2).any() else gaps.head(1)
    trend_rows = gaps[gaps["napl"] >= 2]
    trend = np.corrcoef(trend_rows["napl"], trend_rows["gap"])[0, 1] if len(trend_rows) > 2 else math.nan
    each = "; ".join(f"NAPL {r.napl:.3g}: {100 * r.gap:+.2f} ± {100 * r.gap_se:.2f}" for r in judged.itertuples())
    gap_text = f"{100 * judged['gap'].mean():+.2f} points (mean; {each})"
    peak = gaps.loc[gaps["gap"].idxmax()]
    lines = [
        f"Channel-wise beats layer-wise at {(gaps['gap'] > 0).sum()} of {len(gaps)} matched NAPLs; the largest gap is "
        f"{100 * peak['gap']:+.2f} points at NAPL {peak['napl']:.3g}.",
        f"Judged at NAPL {lo:g} to {hi:g} (the paper's CIFAR-100 range): {each} points (channel minus layer, "
        f"± s.e. over seeds); all outside the seed spread: {bool(judged['outside_spread'].all())}.",
        f"Correlation of the gap with NAPL over matched NAPLs >= 2: {trend:+.2f} (the claim: the gap grows as NAPL "
        f"falls, so negative).",
    ]
    below = gaps[gaps["napl"] < 2]
    if len(below):
        lines.append("Below NAPL 2 (nets with at most one nonlinear layer left): "
                     + "; ".join(f"{100 * g:+.2f}" for g in below["gap"]) + " points.")
    positive, separated = bool((judged["gap"] > 0).all()), bool(judged["outside_spread"].all())
    if positive and separated and trend < 0:
        verdict = "reproduced"
    elif positive and separated:
        verdict = "partly reproduced (a gap at low NAPL, but it does not grow as NAPL falls)"
    elif positive:
        verdict = "partly reproduced (the gap has the paper's sign but lies within the seed spread)"
    else:
        verdict = "not reproduced"
    return lines, gap_text, verdict
