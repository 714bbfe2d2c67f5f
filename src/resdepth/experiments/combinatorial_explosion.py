"""The combinatorial explosion (Dherin & Munn, Section 3.1 and Remark 4.1), measured at initialisation.

Section 3.1: the order-k term of the expansion sums O(n^k) paths, so with lambda = 1 and no
normalization the output of a deep tower grows uncontrollably with depth; lambda = 1/n (a sum
becomes an average) or lambda = 1/sqrt(n) tames it. Remark 4.1 goes further: counting C(n, k) ~
n^k / k! terms of similar magnitude at order k, lambda = 1/sqrt(n) "leaves a growth of order
O(n^{k/2} / k!)", and lambda = 1/n a growth O(1/k!).

We measure, on freshly initialised towers fed real Fashion-MNIST test images (the committed
sample), at each depth n: the tower gain ||R(z)|| / ||z||, the residual part ||R(z) - z|| / ||z||
and the logit norm, for lambda in {1, 1/sqrt(n), 1/n}, with and without BatchNorm in the branches
(BatchNorm in training mode, normalizing with batch statistics as in training); and, without
BatchNorm, the norms of the expansion's terms M1 and M2 (``resdepth.expansion.expansion_terms``),
so that lambda^k ||M_k|| can be set beside Remark 4.1's count. Terms of random sign add like a
random walk: C(n, k) of them give a norm of about sqrt(C(n, k)), not C(n, k), and then
lambda = 1/sqrt(n) keeps every order bounded. Float32; values that overflow are inf (the explosion).

Three claims (``CLAIMS``), judged by ``explosion_rule``, ``bounded_rule`` and ``remark41_rule``,
rewritten on 2026-11-25 and tested on hand-made results (``tests/test_experiments_combinatorial_explosion.py``).
"""

import math

import numpy as np
import pandas as pd
import torch

from ..data import sample_test_batch
from ..expansion import expansion_terms
from ..models import ResidualTower, resolve_lam
from ..verdict import combine, paired_t_test, Verdict


NAME = "combinatorial_explosion"
TITLE = "The combinatorial explosion, measured"
TRAINS = False

BUDGETS = {
    "smoke": dict(
        depths=[1, 4, 16],  # residual blocks n, one tower per depth, rule, BatchNorm setting and seed
        width=8,  # channels of the tower
        images=8,  # real Fashion-MNIST test images from the committed sample
        seeds=[0],  # seeds of the towers' init
    ),
    "book": dict(
        depths=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],  # residual blocks n (the paper's Table 1 reaches 1000)
        width=16,  # channels of the tower
        images=64,  # real Fashion-MNIST test images from the committed sample
        seeds=[0, 1, 2],  # seeds of the towers' init
    ),
    "paper": dict(
        depths=[1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],  # residual blocks n (the paper's Table 1 reaches 1000)
        width=128,  # channels of the tower (the paper's width at n = 1000)
        images=256,  # real Fashion-MNIST test images from the committed sample
        seeds=[0, 1, 2, 3, 4],  # seeds of the towers' init
    ),
}

CLAIMS = {
    "explosion_lam1": (
        r"**Section 3.1**: with $\lambda = 1$ and no normalization, the output of a residual tower explodes "
        r"with depth ($O(n^k)$ paths at order $k$, $2^n$ in all)",
        "the output magnitude grows uncontrollably with depth (an argument from the path count; no measurement)",
    ),
    "explosion_scaled_bounded": (
        r"**Section 4.1**: $\lambda = 1/n$ and $\lambda = 1/\sqrt{n}$ tame the explosion without normalization",
        "tamed: stable averages instead of exploding sums (no measurement at initialisation; Table 1 trains "
        "them to n = 1000)",
    ),
    "explosion_remark41": (
        r"**Remark 4.1**: with $\lambda = 1/\sqrt{n}$ the order-$k$ terms grow with depth as "
        r"$O(n^{k/2}/k!)$ ($\binom{n}{k} \sim n^k/k!$ terms of similar magnitude, times $\lambda^k$)",
        r"growth $O(n^{k/2}/k!)$: $\sqrt{n}$ at order 1, $n/2$ at order 2 (an argument; no measurement)",
    ),
}

# The figure or table of the chapter behind each claim (its glue:figure name), linked from the report.
EVIDENCE = {
    "explosion_lam1": "fig-explosion-gain",
    "explosion_scaled_bounded": "tab-explosion-gain",
    "explosion_remark41": "fig-explosion-remark41",
}

RULES = ("1", "1/sqrt(n)", "1/n")
SCALED = ("1/sqrt(n)", "1/n")
EXPLODE = 1e3  # a tower gain above this at the deepest depth is an explosion (see explosion_rule)
BOUND = 10.0  # a tower gain at or below this at every depth is bounded (see bounded_rule)
ORDERS = (1, 2)  # the orders k of the expansion whose growth Remark 4.1's count is checked against


def configs(settings: dict) -> list:
    """Nothing to train: the chapter analyses towers at initialisation."""
    return []


# ----------------------------------------------------------------------------- measurements


def _ratio(num, den) -> float:
    """Mean over samples of ||num|| / ||den||, inf where it overflowed (inf - inf = nan)."""
    value = (num.flatten(1).norm(dim=1) / den.flatten(1).norm(dim=1)).mean().item()
    return value if math.isfinite(value) else math.inf


def growth_table(x, settings: dict) -> tuple:
    """(growth, terms) at initialisation, one tower per (BatchNorm, seed, depth), its weights shared
    by the three lambda rules (lambda does not enter the init, so each rule's tower is the one
    ``resdepth.expansion.output_growth`` builds):

    - growth: per (BatchNorm, rule, seed, depth) the tower gain ||R(z)||/||z||, the residual part
      ||R(z) - z||/||z|| and the logit norm, means over the images;
    - terms: per (seed, depth), without BatchNorm, ||M0||, ||M1||, ||M2|| over the batch (logits).
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # thousands of tiny convs: thread hand-offs cost more than they save
    growth, terms = [], []
    try:
        with torch.no_grad():
            for batchnorm in (False, True):
                for seed in settings["seeds"]:
                    for depth in settings["depths"]:
                        torch.manual_seed(seed)
                        tower = ResidualTower(depth, settings["width"], "1", batchnorm, in_channels=x.shape[1])
                        tower.train(batchnorm)  # BatchNorm normalizes with batch statistics, as in training
                        z = tower.encoder(x)
                        for rule in RULES:
                            tower.lam = resolve_lam(rule, depth)
                            r = tower.tower(z)
                            logits = tower.decoder(r).norm(dim=1).mean().item()
                            growth.append({"BatchNorm": batchnorm, "lam_rule": rule, "λ": tower.lam, "seed": seed,
                                           "depth": depth, "tower_gain": _ratio(r, z), "residual": _ratio(r - z, z),
                                           "logit_norm": logits if math.isfinite(logits) else math.inf})
                        if not batchnorm:
                            m0, m1, m2 = expansion_terms(tower, x)
                            terms.append({"seed": seed, "depth": depth, "‖M0‖": m0.norm().item(),
                                          "‖M1‖": m1.norm().item(), "‖M2‖": m2.norm().item()})
    finally:
        torch.set_num_threads(threads)
    growth = pd.DataFrame(growth)
    growth["BN"] = growth["BatchNorm"].map({False: "without BN", True: "with BN"})
    return growth, pd.DataFrame(terms)


def order_table(terms: pd.DataFrame, rule: str = "1/sqrt(n)") -> pd.DataFrame:
    """Per (seed, depth, order k): lambda^k ||M_k|| / ||M0|| at ``rule``'s lambda, the size of the
    order-k contribution relative to the base model (nan where M_k = 0: k > n)."""
    rows = []
    for _, t in terms.iterrows():
        lam = resolve_lam(rule, int(t["depth"]))
        for k in ORDERS:
            norm = t[f"‖M{k}‖"]
            rows.append({"seed": int(t["seed"]), "depth": int(t["depth"]), "order k": k,
                         "relative size": lam**k * norm / t["‖M0‖"] if norm > 0 else math.nan})
    return pd.DataFrame(rows, columns=["seed", "depth", "order k", "relative size"])


def coherent_count(depth, k: int) -> float:
    """Remark 4.1's count at lambda = 1/sqrt(n): C(n, k) terms of similar size, times lambda^k."""
    return math.comb(int(depth), k) * depth ** (-k / 2)


def incoherent_count(depth, k: int) -> float:
    """The same C(n, k) terms added with random signs: sqrt(C(n, k)) times lambda^k."""
    return math.sqrt(math.comb(int(depth), k)) * depth ** (-k / 2)


def order_predictions(orders: pd.DataFrame) -> pd.DataFrame:
    """Per (depth, order k): the mean measured relative size and the two counts, each anchored to
    the measured mean at the smallest depth where M_k is nonzero (the counts fix growth, not scale)."""
    rows = []
    for k, group in orders.dropna(subset=["relative size"]).groupby("order k"):
        mean = group.groupby("depth")["relative size"].agg(["mean", "min", "max"])
        if not len(mean):
            continue
        n0 = mean.index.min()
        for depth, row in mean.iterrows():
            rows.append({"depth": depth, "order k": k, "measured": row["mean"], "min": row["min"], "max": row["max"],
                         "remark41": mean.loc[n0, "mean"] * coherent_count(depth, k) / coherent_count(n0, k),
                         "random_signs": mean.loc[n0, "mean"] * incoherent_count(depth, k) / incoherent_count(n0, k)})
    return pd.DataFrame(rows, columns=["depth", "order k", "measured", "min", "max", "remark41", "random_signs"])


def total_predictions(growth: pd.DataFrame) -> pd.DataFrame:
    """Per depth at lambda = 1/sqrt(n) without BN: the measured gain and residual part ||R(z) - z||/||z||
    (mean, min, max over seeds) beside the whole expansion's two sums, anchored at the smallest depth n0:

    - Remark 4.1 (coherent): sum over k >= 1 of C(n, k) (a / sqrt(n))^k = (1 + a/sqrt(n))^n - 1, which
      grows like exp(a sqrt(n)); a solves it at n0;
    - random signs: sqrt(sum over k >= 1 of C(n, k) (b^2 / n)^k) = sqrt((1 + b^2/n)^n - 1), which tends
      to sqrt(exp(b^2) - 1); b solves it at n0.
    """
    g = growth[(~growth["BatchNorm"]) & (growth["lam_rule"] == "1/sqrt(n)")]
    table = g.groupby("depth").agg(gain=("tower_gain", "mean"), gain_min=("tower_gain", "min"),
                                   gain_max=("tower_gain", "max"), residual=("residual", "mean"),
                                   residual_min=("residual", "min"), residual_max=("residual", "max"))
    n0 = table.index.min()
    r0 = table.loc[n0, "residual"]
    a = math.sqrt(n0) * ((1 + r0) ** (1 / n0) - 1)
    b2 = n0 * ((1 + r0**2) ** (1 / n0) - 1)
    n = table.index.to_numpy(dtype=float)
    with np.errstate(over="ignore"):
        table["remark41"] = np.expm1(n * np.log1p(a / np.sqrt(n)))
    table["random_signs"] = np.sqrt(np.expm1(n * np.log1p(b2 / n)))
    return table.reset_index()


def order_slopes(orders: pd.DataFrame) -> pd.DataFrame:
    """Per (seed, order k): the least-squares slope of log(lambda^k ||M_k|| / ||M0||) on log n over the
    depths where M_k is nonzero (nan with fewer than two), and the slope Remark 4.1 predicts, k/2."""
    rows = []
    for (seed, k), group in orders.dropna(subset=["relative size"]).groupby(["seed", "order k"]):
        slope = (float(np.polyfit(np.log(group["depth"]), np.log(group["relative size"]), 1)[0])
                 if group["depth"].nunique() >= 2 else math.nan)
        rows.append({"seed": seed, "order k": k, "slope": slope, "Remark 4.1": k / 2})
    return pd.DataFrame(rows, columns=["seed", "order k", "slope", "Remark 4.1"])


def _spread(values) -> str:
    values = [v for v in values if v == v]
    if not values:
        return "—"
    mean = float(np.mean(values))
    low, high = min(values), max(values)
    cell = lambda v: "inf" if v == math.inf else f"{v:.3g}"
    return cell(mean) + ("" if len(values) < 2 else f" ({cell(low)}–{cell(high)})")


def gain_table(growth: pd.DataFrame) -> pd.DataFrame:
    """The tower gain, 'mean (min–max)' over seeds, rows (BatchNorm, rule), columns depth."""
    cells = growth.groupby(["BN", "lam_rule", "depth"], sort=False)["tower_gain"].agg(_spread)
    table = cells.unstack("depth")
    return table.reindex(pd.MultiIndex.from_product([["without BN", "with BN"], RULES]))


def remark41_table(totals: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Per depth: measured gain and residual part at 1/sqrt(n) (mean, min–max) beside the coherent
    (Remark 4.1) and random-sign sums, and per order k the measured lambda^k ||M_k||/||M0|| beside both."""
    fmt = lambda v: "—" if v != v else ("inf" if v == math.inf else f"{v:.3g}")
    rows = []
    for t in totals.itertuples(index=False):
        row = {"n": int(t.depth), "gain ‖R(z)‖/‖z‖": f"{fmt(t.gain)} ({fmt(t.gain_min)}–{fmt(t.gain_max)})",
               "‖R(z)−z‖/‖z‖": f"{fmt(t.residual)} ({fmt(t.residual_min)}–{fmt(t.residual_max)})",
               "Remark 4.1: (1+a/√n)ⁿ−1": fmt(t.remark41), "random signs": fmt(t.random_signs)}
        for k in ORDERS:
            p = predictions[(predictions["depth"] == t.depth) & (predictions["order k"] == k)]
            label = "λ‖M1‖/‖M0‖" if k == 1 else f"λ^{k}‖M{k}‖/‖M0‖"
            if len(p):
                p = p.iloc[0]
                row[label] = f"{fmt(p['measured'])} ({fmt(p['min'])}–{fmt(p['max'])})"
                row[f"order {k}, Remark 4.1"] = fmt(p["remark41"])
            else:
                row[label] = row[f"order {k}, Remark 4.1"] = "—"
        rows.append(row)
    return pd.DataFrame(rows).set_index("n")


def budget_line(settings: dict) -> str:
    """One line for the verdicts."""
    return (f"at init; n ∈ {{{', '.join(map(str, settings['depths']))}}}, width {settings['width']}, float32; "
            f"{len(settings['seeds'])} seed(s); {settings['images']} Fashion-MNIST test images; CPU")


def run(settings: dict, store=None) -> dict:
    """Measure growth with depth at initialisation (nothing is trained; ``store`` unused)."""
    x, _ = sample_test_batch(settings["images"])
    growth, terms = growth_table(x, settings)
    orders = order_table(terms)
    predictions = order_predictions(orders)
    totals = total_predictions(growth)
    return {"growth": growth, "terms": terms, "orders": orders, "order_predictions": predictions,
            "totals": totals, "order_slopes": order_slopes(orders), "gain_table": gain_table(growth),
            "remark41_table": remark41_table(totals, predictions), "budget": budget_line(settings),
            "budget_text": (f"Budget: towers at initialisation, depths {settings['depths']}, width "
                            f"{settings['width']}, float32, {settings['images']} Fashion-MNIST test images, seeds "
                            f"{settings['seeds']}, CPU.")}


# ----------------------------------------------------------------------------- rules


def _deepest(growth: pd.DataFrame, rule: str, batchnorm: bool = False) -> pd.Series:
    """Per seed, the tower gain at the deepest depth, for one rule."""
    g = growth[(growth["BatchNorm"] == batchnorm) & (growth["lam_rule"] == rule)]
    return g[g["depth"] == g["depth"].max()].set_index("seed")["tower_gain"].sort_index()


def _crossing(growth: pd.DataFrame, seed, rule: str = "1", level: float = BOUND):
    """The first depth at which one seed's gain (without BN) exceeds ``level``, or None."""
    g = growth[(~growth["BatchNorm"]) & (growth["lam_rule"] == rule) & (growth["seed"] == seed)].sort_values("depth")
    above = g[g["tower_gain"] > level]
    return int(above["depth"].iloc[0]) if len(above) else None


def _gains(values) -> str:
    return ", ".join("inf (overflow)" if v == math.inf else f"{v:.3g}" for v in values)


def explosion_rule(growth: pd.DataFrame) -> tuple:
    """Section 3.1: with lambda = 1 and no normalization the output explodes with depth.

    Test: per seed, the tower gain ||R(z)||/||z|| at initialisation at the deepest depth of the
    budget, lambda = 1 without BatchNorm, against two thresholds:
    - reproduced: above ``EXPLODE`` = 1e3 in every seed (at least two seeds): three orders of
      magnitude over the input, where the scaled towers stay within a factor ``BOUND`` = 10 (a
      float32 overflow, inf, counts as above);
    - not reproduced: at most ``BOUND`` in every seed (at least two seeds; no growth beyond what the
      scaled rules show);
    - inconclusive: the seeds fall on different sides, a gain between the thresholds, or one seed.
    Why these numbers: a random-sign sum of the 2^n paths multiplies the variance by about
    (1 + s^2) per block (s = ||F(z)||/||z||, 0.5 to 0.7 at n = 1 in the book profile), so
    lambda = 1 grows exponentially in n while lambda = c/sqrt(n) tends to a constant near
    exp(c^2 s^2 / 2) < 2; the two thresholds sit two orders of magnitude apart, so a seed that
    lands between them is not read as either.
    Returns (outcome, ours, statistic).
    """
    gains = _deepest(growth, "1")
    deepest = int(growth["depth"].max())
    seeds = len(gains)
    if seeds >= 2 and (gains <= BOUND).all():
        outcome = "not reproduced"
    elif seeds >= 2 and (gains > EXPLODE).all():
        outcome = "reproduced"
    else:
        outcome = "inconclusive"
    crossings = [_crossing(growth, s) for s in gains.index]
    where = ", ".join(f"n = {c}" if c else f"no depth up to n = {deepest}" for c in crossings)
    bn = _deepest(growth, "1", batchnorm=True)
    ours = (f"λ = 1 without BN: tower gain at n = {deepest} per seed {_gains(gains)}; it first exceeds {BOUND:g} at "
            f"(per seed) {where}. With BN (for comparison): {_gains(bn)} at n = {deepest}")
    statistic = (f"gain > {EXPLODE:g} at n = {deepest} in {int((gains > EXPLODE).sum())} of {seeds} seed(s); "
                 "threshold per seed, no test")
    return outcome, ours, statistic


def bounded_rule(growth: pd.DataFrame) -> tuple:
    """Section 4.1: lambda = 1/n and lambda = 1/sqrt(n) tame the explosion.

    Test: per seed and rule (no BatchNorm), the largest tower gain over every depth of the budget:
    - reproduced: at most ``BOUND`` = 10 for both rules in every seed (at least two seeds);
    - not reproduced: for either rule, above ``EXPLODE`` = 1e3 at the deepest depth in every seed
      (at least two seeds; it explodes as lambda = 1 does);
    - inconclusive: anything else (seeds that disagree, a gain between 10 and 1e3, one seed).
    Why 10: the random-sign variance argument (``explosion_rule``) bounds the gain near
    exp(c^2 s^2 / 2) < 2 for lambda = c/sqrt(n) and near 1 for lambda = 1/n; 10 leaves a factor of
    five for what that approximation misses (ReLU branches, correlated paths) and stays two orders
    of magnitude below the explosion threshold. "Bounded" is read over the budget's depths only: a
    finite sample of depths cannot show a bound for every n, so the verdict's ``ours`` reports the
    gain at the two deepest depths, which shows whether it still grows.
    Returns (outcome, ours, statistic).
    """
    deepest = int(growth["depth"].max())
    g = growth[~growth["BatchNorm"]]
    peaks = {rule: g[g["lam_rule"] == rule].groupby("seed")["tower_gain"].max() for rule in SCALED}
    seeds = min(len(p) for p in peaks.values())
    exploding = seeds >= 2 and any((_deepest(growth, r) > EXPLODE).all() for r in SCALED)
    if exploding:
        outcome = "not reproduced"
    elif seeds >= 2 and all((p <= BOUND).all() for p in peaks.values()):
        outcome = "reproduced"
    else:
        outcome = "inconclusive"
    depths = sorted(g["depth"].unique())[-2:]
    words = []
    for rule in SCALED:
        at = [_spread(g[(g["lam_rule"] == rule) & (g["depth"] == d)]["tower_gain"]) for d in depths]
        words.append(f"λ = {rule}: largest gain over depths {peaks[rule].max():.3g}; at n = "
                     + ", ".join(f"{d}: {a}" for d, a in zip(depths, at)))
    ours = "; ".join(words) + " (mean (min–max) over seeds)"
    inside = sum(int((p <= BOUND).sum()) for p in peaks.values())
    statistic = (f"largest gain over n ≤ {deepest} at most {BOUND:g} in {inside} of {sum(map(len, peaks.values()))} "
                 f"(rule, seed) pairs; threshold per seed, no test")
    return outcome, ours, statistic


def remark41_rule(slopes: pd.DataFrame, totals: pd.DataFrame) -> tuple:
    """Remark 4.1: at lambda = 1/sqrt(n) the order-k terms grow as O(n^{k/2}/k!).

    The remark multiplies a count of C(n, k) ~ n^k/k! terms "of similar magnitude" by lambda^k: the
    order-k contribution lambda^k ||M_k|| should grow like n^{k/2}, slope k/2 on log-log axes (0.5
    for k = 1, 1 for k = 2). Terms of random sign would instead add to sqrt(C(n, k)) and give slope
    0: the two readings differ by k/2 in slope.
    Test, per order k in ``ORDERS``: the per-seed least-squares slope of log(lambda^k ||M_k||/||M0||)
    on log n over the budget's depths (``order_slopes``), a one-sample t-test over seeds of
    slope - k/2 (two-sided, level 0.05):
    - per order: not reproduced where the interval excludes k/2 (grows slower, or faster, than the
      remark); reproduced where it does not, and the slope is above 0 by a t-test (growth seen);
      else inconclusive (one seed, or seeds too spread to separate k/2 from 0);
    - over orders: ``verdict.combine``.
    The whole tower's residual part ||R(z) - z||/||z|| at the deepest depth is set beside the remark's
    sum over all orders, (1 + a/sqrt(n))^n - 1 (``total_predictions``), in ``ours``; it does not
    decide the verdict (it adds orders the slopes do not test).
    Returns (outcome, ours, statistic).
    """
    outcomes, words, stats, disagree = [], [], [], []
    for k in ORDERS:
        values = slopes.loc[slopes["order k"] == k, "slope"].dropna().to_numpy(dtype=float)
        against = paired_t_test(values - k / 2)
        growth = paired_t_test(values)
        if against.sign != 0:
            outcomes.append("not reproduced")
            slope = against.mean + k / 2
            nearer = " (nearer 0, the slope of terms of random sign)" if abs(slope) < abs(against.mean) else ""
            disagree.append(f"order {k} grows with slope {slope:+.2f}, "
                            f"{'below' if against.sign < 0 else 'above'} the remark's {k / 2:g}{nearer}")
        elif growth.sign > 0:
            outcomes.append("reproduced")
        else:
            outcomes.append("inconclusive")
        words.append(f"order {k}: slope {', '.join(f'{v:+.2f}' for v in values) or '—'} per seed (remark: {k / 2:g})")
        stats.append(f"order {k}: slope − {k / 2:g}: {against.describe()}")
    outcome = combine(outcomes)
    deepest = totals.iloc[-1]
    ours = ("at λ = 1/√n, λ^k‖M_k‖/‖M0‖ against n: " + "; ".join(words)
            + f". The whole tower at n = {int(deepest['depth'])}: gain {deepest['gain']:.3g} "
              f"({deepest['gain_min']:.3g}–{deepest['gain_max']:.3g}), ‖R(z)−z‖/‖z‖ {deepest['residual']:.3g}, where "
              f"the remark's count of terms of similar size gives {deepest['remark41']:.3g} and terms of "
              f"random sign {deepest['random_signs']:.3g}")
    if disagree:
        ours += ". Where they disagree (at initialisation): " + "; ".join(disagree)
    return outcome, ours, "; ".join(stats)


def verdicts(results: dict, settings: dict) -> list:
    """One verdict per claim, in ``CLAIMS`` order."""
    budget, growth = results["budget"], results["growth"]
    out = []
    outcome, ours, statistic = explosion_rule(growth)
    text, paper = CLAIMS["explosion_lam1"]
    out.append(Verdict("explosion_lam1", text, paper, ours, budget, outcome,
                       f"tower gain ‖R(z)‖/‖z‖ at init at the deepest n, λ = 1 without BN: above {EXPLODE:g} in every "
                       f"seed (≥ 2 seeds) reproduced; at most {BOUND:g} in every seed not reproduced; else "
                       "inconclusive",
                       statistic))
    outcome, ours, statistic = bounded_rule(growth)
    text, paper = CLAIMS["explosion_scaled_bounded"]
    out.append(Verdict("explosion_scaled_bounded", text, paper, ours, budget, outcome,
                       f"largest tower gain over every depth, λ = 1/n and 1/√n without BN: at most {BOUND:g} in every "
                       f"seed (≥ 2 seeds) reproduced; above {EXPLODE:g} at the deepest n in every seed for either rule "
                       "not reproduced; else inconclusive", statistic))
    outcome, ours, statistic = remark41_rule(results["order_slopes"], results["totals"])
    text, paper = CLAIMS["explosion_remark41"]
    out.append(Verdict("explosion_remark41", text, paper, ours, budget, outcome,
                       "per order k = 1, 2: per-seed log-log slope of λ^k‖M_k‖/‖M0‖ against n at λ = 1/√n; t-test over "
                       "seeds of slope − k/2: interval excluding k/2 not reproduced; including it with growth "
                       "(slope > 0, t-test) reproduced; else inconclusive; orders combined", statistic))
    return out
