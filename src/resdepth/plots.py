"""Figures shared by several chapters, so each notebook keeps to its story."""

import pandas as pd

GRANULARITY_STYLE = {
    "channel": dict(color="C0", label="channel-wise (variable depth)"),
    "layer": dict(color="C3", label="layer-wise (fixed depth)"),
}


def napl_points(runs: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error over seeds of final NAPL and test accuracy, per (granularity, omega)."""
    return (runs[runs["status"] == "ok"].groupby(["granularity", "omega"])
            .agg(napl=("napl", "mean"), napl_se=("napl", "sem"), acc=("test_acc", "mean"),
                 acc_se=("test_acc", "sem"), seeds=("seed", "size")).reset_index())


def accuracy_vs_napl(ax, runs: pd.DataFrame, start_acc: float, start_napl: float, title: str, prefix: str = ""):
    """Test accuracy against NAPL after post-training, one line per granularity, with
    standard-error bars in both directions; the start network as a dashed line."""
    for granularity, g in napl_points(runs).groupby("granularity"):
        g = g.sort_values("napl")
        style = GRANULARITY_STYLE[granularity]
        ax.errorbar(g["napl"], g["acc"], xerr=g["napl_se"].fillna(0), yerr=g["acc_se"].fillna(0), marker="o",
                    capsize=3, color=style["color"], label=prefix + style["label"])
    ax.axhline(start_acc, ls="--", color="grey", label=f"{prefix}start network (NAPL {start_napl:g})")
    ax.set(xlabel="NAPL (mean nonlinear units per path)", ylabel="test accuracy after post-training", title=title)
    ax.legend(fontsize="small")
