"""Part III: one ensemble of paths, seen from both papers (our observations, not the papers' claims).

NAPL (Mehmeti-Göpel & Disselhoff 2022; Mehmeti-Göpel & Wand 2025) weighs the paths of a residual
net by a random walk that splits evenly at every add; the Residual Expansion Theorem (Dherin &
Munn 2025, Theorem 3.1) writes a tower of blocks x + lam F_i(x) as f = sum_k lam^k M_k, and if
every path counted the same, order k would carry Binomial(n, lam / (1 + lam)) of the function.
This chapter measures three things neither paper does:

1. on towers at initialisation with lam = 1/sqrt(n), how ||lam^2 M2|| / ||lam M1|| grows with n,
   against paths that add coherently ((n-1) lam / 2, ~ n^0.5) and like independent noise
   (lam sqrt((n-1)/2), ~ n^0);
2. the tower's depth by NAPL's even-split walk against its depth by the expansion's weights;
3. the path-length distribution that channel-wise linearization extracted from the plain RepVGG
   (the stored post-training runs of chapter ``linearization_napl``; nothing is trained here)
   against the n = 16 tower's expansion-weighted mix of the same mean, with a null: the same net
   with random per-layer nonlinear fractions of the same NAPL.
"""

import math

import numpy as np
import pandas as pd
import torch

from . import linearization_napl
from ..data import sample_test_batch
from ..expansion import expansion_terms
from ..linearize import linearized_architecture
from ..models import build_model, ResidualTower, resolve_lam
from ..pathlength import chain_distribution, mean_length, path_length_distribution, total_variation, tower_order_mix
from ..verdict import ALPHA, not_run, paired_t_test, Verdict
from .common import hours_and_devices, resolve_settings


NAME = "paths_across_papers"
TITLE = "Synthesis: one ensemble of paths, seen from both papers"
TRAINS = False

BUDGETS = {
    "smoke": dict(
        depths=[2, 4],  # tower depths n of part 1 (lam = 1/sqrt(n)), at initialisation
        width=8,  # tower width (channels) of part 1
        images=8,  # real Fashion-MNIST test images (committed sample) of part 1
        seeds=[0],  # init seeds of part 1's towers
        null_draws=200,  # part 3: random fraction vectors per linearized net in the null
    ),
    "book": dict(
        depths=[4, 8, 16, 32, 64, 128],  # tower depths n of part 1 (lam = 1/sqrt(n)), at initialisation
        width=16,  # tower width (channels) of part 1
        images=64,  # real Fashion-MNIST test images (committed sample) of part 1
        seeds=[0, 1, 2],  # init seeds of part 1's towers
        null_draws=2000,  # part 3: random fraction vectors per linearized net in the null
    ),
    "paper": dict(
        depths=[4, 8, 16, 32, 64, 128, 256],  # tower depths n of part 1 (lam = 1/sqrt(n)), at initialisation
        width=64,  # tower width (channels) of part 1
        images=256,  # real Fashion-MNIST test images (committed sample) of part 1
        seeds=[0, 1, 2, 3, 4],  # init seeds of part 1's towers
        null_draws=2000,  # part 3: random fraction vectors per linearized net in the null
    ),
}

MIX_DEPTH = 16  # the tower of part 2 and 3: n = 16, as in Figure 1 of Dherin & Munn
MIX_LAMS = ("1/n", "1/sqrt(n)", "1", 2.0)  # part 2: the lam values at which both depths are computed
EXACT = 1e-9  # part 2: float64 agreement of two exactly computed means or distributions (see depth_rule)

CLAIMS = {
    "synthesis_coherence": (
        "At initialisation with $\\lambda = 1/\\sqrt{n}$, the second-order paths' weight "
        "$\\|\\lambda^2 M_2\\| / \\|\\lambda M_1\\|$ grows with depth $n$ with an exponent nearer that of paths adding "
        "like independent noise ($n^0$) than that of coherent paths ($n^{0.5}$), so the path count is not a fair "
        "proxy for each order's share of the function",
        "— (our observation); references: independent paths $\\lambda\\sqrt{(n-1)/2}$ (≈ $n^0$), coherent paths "
        "$(n-1)\\lambda/2$ (≈ $n^{0.5}$)",
    ),
    "synthesis_depth_notions": (
        "NAPL's even-split walk gives the $n = 16$ tower the same path-length distribution (mean $1 + n/2 = 9$) "
        "whatever $\\lambda$ is, while the expansion's weights give mean $1 + n\\lambda/(1+\\lambda)$ "
        "(4.2 at $\\lambda = 1/\\sqrt{n}$): the two notions of depth agree only at $\\lambda = 1$",
        "— (our observation; NAPL of Mehmeti-Göpel & Disselhoff against Theorem 3.1 of Dherin & Munn)",
    ),
    "synthesis_tower_match": (
        "The path-length distribution that channel-wise linearization extracts from the plain RepVGG is closer to "
        "the $n = 16$ tower's expansion-weighted mix of the same mean than the same net with random per-layer "
        "nonlinear fractions of the same NAPL",
        "— (our observation); reference: random per-layer fractions of the same NAPL",
    ),
    "synthesis_tower_width": (
        "The channel-wise-linearized RepVGG is wider in depth (larger standard deviation of path lengths) than the "
        "$n = 16$ tower mix of the same mean",
        "— (our observation; the chapter's earlier text: wider in 4 of 6 nets, one seed)",
    ),
}

# The figure or table of the chapter behind each claim (its glue:figure name), linked from the report.
EVIDENCE = {
    "synthesis_coherence": "fig-synthesis-coherence",
    "synthesis_depth_notions": "fig-synthesis-mix",
    "synthesis_tower_match": "tab-synthesis-comparison",
    "synthesis_tower_width": "tab-synthesis-comparison",
}


# ----------------------------------------------------------------------------- part 1: towers at init


def coherence_table(settings: dict) -> pd.DataFrame:
    """Per depth n and seed: the measured ||lam^2 M2|| / ||lam M1|| at lam = 1/sqrt(n) and the two
    reference ratios (coherent paths, independent paths)."""
    x, _ = sample_test_batch(settings["images"], torch.float64)
    rows = []
    for n in settings["depths"]:
        lam = 1 / math.sqrt(n)
        for seed in settings["seeds"]:
            torch.manual_seed(seed)
            tower = ResidualTower(n, settings["width"], lam=lam, in_channels=1).double().eval()
            _, m1, m2 = expansion_terms(tower, x)
            rows.append({"n": n, "seed": seed, "measured": float(lam**2 * m2.norm() / (lam * m1.norm())),
                         "coherent paths": (n - 1) * lam / 2, "independent paths": lam * math.sqrt((n - 1) / 2)})
    return pd.DataFrame(rows)


def growth_exponents(ratios: pd.DataFrame) -> dict:
    """The exponent of n in each seed's measured ratio (least squares on log-log), and those of the
    two references fitted on the same depths."""
    def slope(frame, column):
        return float(np.polyfit(np.log(frame["n"]), np.log(frame[column]), 1)[0]) if frame["n"].nunique() >= 2 \
            else math.nan

    per_seed = {int(seed): slope(g, "measured") for seed, g in ratios.groupby("seed")}
    first = ratios.drop_duplicates("n")
    return {"per_seed": per_seed, "independent": slope(first, "independent paths"),
            "coherent": slope(first, "coherent paths")}


def ratio_summary(ratios: pd.DataFrame) -> pd.DataFrame:
    """Per depth: the measured ratio's mean and standard error over seeds, beside the references."""
    g = ratios.groupby("n")
    out = pd.DataFrame({"measured (mean)": g["measured"].mean(),
                        "measured (s.e.)": g["measured"].std(ddof=1) / np.sqrt(g["measured"].count()),
                        "coherent paths": g["coherent paths"].first(),
                        "independent paths": g["independent paths"].first()})
    return out


# ----------------------------------------------------------------------------- part 2: two notions of depth


def depth_notions(depth: int = MIX_DEPTH, lams=MIX_LAMS) -> pd.DataFrame:
    """Per lam: the tower's NAPL walk distribution (traced from the built net), its mean, its TV
    distance to the walk at lam = 1, and the mean of the expansion-weighted mix."""
    walks = {lam: path_length_distribution(build_model("tower", 1, 10, depth=depth, width=8, lam=lam))
             for lam in lams}
    reference = path_length_distribution(build_model("tower", 1, 10, depth=depth, width=8, lam="1"))
    rows = []
    for lam, walk in walks.items():
        value = resolve_lam(lam, depth)
        rows.append({"λ": str(lam), "λ value": value, "walk mean (NAPL)": mean_length(walk),
                     "walk TV to λ=1": total_variation(walk, reference),
                     "expansion mean": mean_length(tower_order_mix(depth, value))})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- part 3: linearized nets


def linearization_settings(profile: str) -> dict:
    """The settings of chapter ``linearization_napl`` in ``profile`` (its stored runs are read here)."""
    return resolve_settings(linearization_napl.NAME, linearization_napl.BUDGETS, profile)


def channel_post_configs(lin_settings: dict) -> list:
    """The channel-wise post-training configs of chapter ``linearization_napl`` (not its start run)."""
    return [c for c in linearization_napl.configs(lin_settings) if c.start_from and c.linearize == "channel"]


def load_records(store, configs) -> tuple:
    """(records, number missing): each config's stored record, never training."""
    loaded = [store.load(c) for c in configs]
    return [r for r in loaded if r is not None], sum(r is None for r in loaded)


def std_length(dist) -> float:
    k = np.arange(len(dist))
    mean = float(np.dot(k, dist))
    return float(np.sqrt(np.dot((k - mean) ** 2, dist)))


def poisson_binomial_many(fractions: np.ndarray) -> np.ndarray:
    """``chain_distribution`` of each row of ``fractions`` (draws x layers), vectorized."""
    draws, layers = fractions.shape
    dist = np.zeros((draws, layers + 1))
    dist[:, 0] = 1.0
    for i in range(layers):
        p = fractions[:, i : i + 1]
        dist[:, 1 : i + 2] = (1 - p[:, :]) * dist[:, 1 : i + 2] + p * dist[:, : i + 1]
        dist[:, 0] *= 1 - fractions[:, i]
    return dist


def random_fractions(layers: int, total: float, draws: int, rng, batch: int = 100_000, max_batches: int = 50):
    """``draws`` vectors drawn uniformly from {p in [0, 1]^layers : sum p = total}: a scaled flat
    Dirichlet, rejected where any p > 1 (on the complement 1 - p where total > layers / 2, where
    fewer draws are rejected). Fewer rows come back if ``max_batches`` batches do not yield enough."""
    flip = total > layers / 2
    target = layers - total if flip else total
    kept, count = [], 0
    for _ in range(max_batches):
        d = rng.dirichlet(np.ones(layers), size=batch) * target
        ok = d[(d <= 1.0).all(axis=1)]
        kept.append(ok)
        count += len(ok)
        if count >= draws:
            break
    p = np.concatenate(kept)[:draws]
    return 1.0 - p if flip else p


def tower_mix_of_mean(mean: float, depth: int = MIX_DEPTH):
    """(lam, mix): the depth-``depth`` tower's expansion-weighted mix with the given mean (stem
    unit + Binomial(depth, q), q = (mean - 1) / depth), or (nan, None) if no lam > 0 gives it."""
    q = (mean - 1) / depth
    if not 0 < q < 1:
        return math.nan, None
    lam = q / (1 - q)
    return lam, tower_order_mix(depth, lam)


def tower_match_table(records, null_draws: int, seed: int = 0) -> tuple:
    """Per channel-wise net whose NAPL an n = 16 tower mix can match (1 < NAPL < 17): its NAPL and
    spread, the tower mix of the same mean, their TV distance, and the null: TV distances of the
    same (chain) net with ``null_draws`` random per-layer fractions of the same NAPL.
    Returns (table, distributions {(seed, omega): (dist, mix)})."""
    rng = np.random.default_rng(seed)
    rows, dists = [], {}
    for r in sorted(records, key=lambda r: (r["config"]["seed"], r["config"]["omega"])):
        if r["status"] != "ok":
            continue
        fractions = r["linearization"]["nonlinear_fractions"]
        dist = path_length_distribution(linearized_architecture(r), fractions)
        m = mean_length(dist)
        lam, mix = tower_mix_of_mean(m)
        key = (r["config"]["seed"], r["config"]["omega"])
        row = {"seed": key[0], "ω": key[1], "NAPL": m, "std": std_length(dist)}
        if mix is None:
            rows.append({**row, "matched": False})
            continue
        dists[key] = (dist, mix)
        tv = total_variation(dist, mix)
        row.update({"matched": True, "tower λ (same mean)": lam, "tower std": std_length(mix), "TV": tv})
        values = np.array(list(fractions.values()), dtype=float)
        chain = len(dist) == len(values) + 1 and np.abs(chain_distribution(values) - dist).max() < EXACT
        if chain and null_draws:
            null = poisson_binomial_many(random_fractions(len(values), float(values.sum()), null_draws, rng))
            padded = np.pad(mix, (0, max(0, null.shape[1] - len(mix))))[: null.shape[1]]
            tail = max(0.0, float(mix[null.shape[1]:].sum())) if len(mix) > null.shape[1] else 0.0
            null_tv = 0.5 * (np.abs(null - padded).sum(axis=1) + tail)
            k = len(null_tv)
            row.update({"null draws": k, "null TV (median)": float(np.median(null_tv)),
                        "null std (median)": float(np.median([std_length(d) for d in null])),
                        "p closer": (1 + int((null_tv <= tv).sum())) / (k + 1),
                        "p farther": (1 + int((null_tv >= tv).sum())) / (k + 1)})
        else:
            row.update({"null draws": 0})
        rows.append(row)
    return pd.DataFrame(rows), dists


def nearest_match(table: pd.DataFrame, dists: dict, target_mean: float):
    """The matched net of the first seed whose NAPL is nearest ``target_mean``: (row, dist, mix) or None."""
    if not len(table) or not table["matched"].any():
        return None
    matched = table[table["matched"] & (table["seed"] == table["seed"].min())]
    row = matched.loc[(matched["NAPL"] - target_mean).abs().idxmin()]
    dist, mix = dists[(row["seed"], row["ω"])]
    return {"NAPL": float(row["NAPL"]), "ω": float(row["ω"]), "seed": int(row["seed"]), "dist": dist, "mix": mix}


# ----------------------------------------------------------------------------- run


def configs(settings: dict) -> list:
    """No runs: this chapter trains nothing (it reads chapter linearization_napl's stored runs)."""
    return []


def run(settings: dict, store) -> dict:
    """Part 1 and 2 computed here; part 3 from the stored post-training runs (loaded, never trained)."""
    ratios = coherence_table(settings)
    lin = linearization_settings(settings["profile"])
    post = channel_post_configs(lin)
    records, missing = load_records(store, post)
    table, dists = tower_match_table(records, settings["null_draws"]) if records and not missing else (
        pd.DataFrame(), {})
    walk = path_length_distribution(build_model("tower", 1, 10, depth=MIX_DEPTH, width=8, lam="1/sqrt(n)"))
    weighted = tower_order_mix(MIX_DEPTH, 1 / math.sqrt(MIX_DEPTH))
    return {
        "ratios": ratios,
        "ratio_summary": ratio_summary(ratios),
        "exponents": growth_exponents(ratios),
        "depth_notions": depth_notions(),
        "walk": walk,
        "weighted": weighted,
        "matches": table,
        "nearest": nearest_match(table, dists, mean_length(weighted)) if len(table) else None,
        "post_configs": len(post),
        "post_missing": missing,
        "budget_towers": (f"towers at init, width {settings['width']}, n = {min(settings['depths'])}–"
                          f"{max(settings['depths'])}, λ = 1/√n, {len(settings['seeds'])} seed(s), float64, "
                          f"{settings['images']} real Fashion-MNIST test images"),
        "budget_linearized": (f"{len(records)} stored channel-wise post-training runs of "
                              f"{linearization_napl.start_network(lin)} on {lin['dataset']}, {linearization_napl.seeds_text(lin['seeds'])}, "
                              f"{hours_and_devices(records) if records else 'no runs'}; null: "
                              f"{settings['null_draws']} random fraction vectors per net"),
    }


# ----------------------------------------------------------------------------- rules


def coherence_rule(exponents: dict) -> tuple:
    """Observation 1: is the growth exponent of ||lam^2 M2|| / ||lam M1|| nearer the independent-
    paths reference than the coherent one?

    Test: a 95 % t-interval of the mean over seeds of the per-seed exponents (each fitted on the
    depths of the budget) against the midpoint of the two references' exponents, fitted on the
    same depths (≈ 0.04 and ≈ 0.58 on n = 4–128: the finite-n curves, not the asymptotic 0 and 0.5,
    so that both sides are measured alike). The midpoint is the threshold because it is where an
    exponent stops being nearer one reference than the other. Interval wholly below it:
    reproduced; wholly above: not reproduced; straddling it, or fewer than two seeds: inconclusive.
    """
    values = [v for v in exponents["per_seed"].values() if v == v]
    ind, coh = exponents["independent"], exponents["coherent"]
    midpoint = (ind + coh) / 2
    test = paired_t_test(values)
    if test.n < 2 or not midpoint == midpoint:
        outcome = "inconclusive"
    elif test.high < midpoint:
        outcome = "reproduced"
    elif test.low > midpoint:
        outcome = "not reproduced"
    else:
        outcome = "inconclusive"
    vs_independent = paired_t_test([v - ind for v in values])
    ours = (f"exponent {test.mean:.3f} (per seed {', '.join(f'{v:.3f}' for v in values)}); references on the same "
            f"depths: independent {ind:.3f}, coherent {coh:.3f}")
    if vs_independent.n >= 2:
        relation = {1: "faster than", -1: "slower than", 0: "not separable from"}[vs_independent.sign]
        ours += f"; {relation} independent paths (p = {vs_independent.p:.2g})"
    statistic = (f"95% t-interval of the mean exponent [{test.low:.3f}, {test.high:.3f}] over {test.n} seed(s) "
                 f"against the midpoint {midpoint:.3f}")
    return outcome, ours, statistic


def depth_rule(table: pd.DataFrame) -> tuple:
    """Observation 2: the even-split walk ignores lam; the expansion's mean equals it only at lam = 1.

    Test (an exact computation, no seeds): the walk distributions of the n = 16 tower traced at
    every lam of ``MIX_LAMS`` are within TV 1e-9 of the walk at lam = 1, and |walk mean - expansion
    mean| <= 1e-9 at lam = 1 and > 1e-9 at every other lam. 1e-9 is float64 agreement: both are
    sums of at most 17 exactly computed terms (rounding ~1e-15), while a genuine difference of
    means, n (1/2 - lam/(1+lam)), is at least 0.5 for the lams checked. All hold: reproduced;
    otherwise not reproduced.
    """
    if not len(table):
        return "inconclusive", "no λ computed", "none"
    at_one = (table["λ value"] - 1.0).abs() < 1e-12
    gap = (table["walk mean (NAPL)"] - table["expansion mean"]).abs()
    walk_fixed = bool((table["walk TV to λ=1"] <= EXACT).all())
    agree_at_one = bool(at_one.any() and (gap[at_one] <= EXACT).all())
    differ_elsewhere = bool((gap[~at_one] > EXACT).all())
    outcome = "reproduced" if walk_fixed and agree_at_one and differ_elsewhere else "not reproduced"
    sqrt_row = table[table["λ"] == "1/sqrt(n)"]
    ours = f"walk mean {table['walk mean (NAPL)'].iloc[0]:.2f} at every λ"
    if len(sqrt_row):
        ours += f"; expansion mean {sqrt_row['expansion mean'].iloc[0]:.2f} at λ = 1/√n"
    ours += f"; means equal at λ = 1: {agree_at_one}"
    statistic = (f"exact, no seeds: largest walk TV across λ {table['walk TV to λ=1'].max():.1e}; "
                 f"smallest |walk − expansion mean| at λ ≠ 1: {gap[~at_one].min():.3g}")
    return outcome, ours, statistic


def holm(pvalues) -> np.ndarray:
    """Holm–Bonferroni: which of ``pvalues`` are rejected at ALPHA (boolean array, input order)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    rejected = np.zeros(len(p), dtype=bool)
    for rank, i in enumerate(order):
        if p[i] <= ALPHA / (len(p) - rank):
            rejected[i] = True
        else:
            break
    return rejected


def tower_match_rule(table: pd.DataFrame) -> tuple:
    """Observation 3: is the extracted distribution closer to the tower mix than random fractions?

    Test: for each channel-wise net an n = 16 tower mix can match (1 < NAPL < 17), every seed, a
    Monte Carlo p-value: the share of null nets (the same chain with per-layer nonlinear fractions
    drawn uniformly among those with the same NAPL) whose TV distance to the tower mix is at most
    the extracted net's; Holm's correction over the nets at 0.05. TV needs a null because the path
    lengths of any chain with many layers are near-binomial, so a small TV alone says nothing
    about linearization. Every net closer than its null: reproduced; some: partly reproduced;
    none closer and every net significantly farther (the opposite one-sided p): not reproduced;
    otherwise, or where no net has a null: inconclusive.
    """
    if not len(table) or "p closer" not in table or not table["p closer"].notna().any():
        return "inconclusive", "no matched net with a null", "none"
    tested = table[table["p closer"].notna()]
    closer, farther = holm(tested["p closer"]), holm(tested["p farther"])
    if closer.all():
        outcome = "reproduced"
    elif closer.any():
        outcome = "partly reproduced"
    elif farther.all():
        outcome = "not reproduced"
    else:
        outcome = "inconclusive"
    best = tested.loc[tested["TV"].idxmin()]
    ours = (f"TV to the tower mix {tested['TV'].min():.3f}–{tested['TV'].max():.3f} over {len(tested)} nets "
            f"(NAPL {tested['NAPL'].min():.1f}–{tested['NAPL'].max():.1f}); null median "
            f"{tested['null TV (median)'].min():.3f}–{tested['null TV (median)'].max():.3f}; "
            f"closest: NAPL {best['NAPL']:.2f}, TV {best['TV']:.3f}; closer than the null at NAPL "
            f"{', '.join(f'{v:.2f}' for v in tested.loc[closer, 'NAPL']) or 'none'}")
    statistic = (f"Monte Carlo p per net ({int(tested['null draws'].min())} null draws), Holm at {ALPHA}: closer "
                 f"in {int(closer.sum())} of {len(tested)}, farther in {int(farther.sum())}; "
                 f"{tested['seed'].nunique()} post-training seed(s)")
    return outcome, ours, statistic


def tower_width_rule(table: pd.DataFrame) -> tuple:
    """Observation 4: is the extracted net wider in depth than the tower mix of the same mean?

    Test: the difference std(extracted) - std(tower mix) per net, averaged per post-training seed
    over the omegas matched in every seed (so each seed's mean is over the same set), then a
    one-sample t-test of those per-seed means over the post-training seeds (the nets of one seed
    share its seed and the start net, so they are not independent replicates; the seeds are).
    Mean > 0 with p < 0.05: reproduced; < 0 with p < 0.05: not reproduced; otherwise, or fewer
    than two seeds: inconclusive. The chapter's earlier text counted the nets of one seed (4 of 6
    wider), which no test backed.
    """
    if not len(table) or not table["matched"].any():
        return "inconclusive", "no matched net", "none"
    matched = table[table["matched"]].copy()
    seeds = matched["seed"].nunique()
    common = [w for w, g in matched.groupby("ω") if g["seed"].nunique() == seeds]
    matched = matched[matched["ω"].isin(common)]
    matched["diff"] = matched["std"] - matched["tower std"]
    per_seed = matched.groupby("seed")["diff"].mean()
    test = paired_t_test(per_seed.to_numpy())
    outcome = {1: "reproduced", -1: "not reproduced", 0: "inconclusive"}[test.sign]
    ours = (f"wider in {int((matched['diff'] > 0).sum())} of {len(matched)} nets; mean std difference "
            f"{test.mean:+.3f} (per seed {', '.join(f'{v:+.3f}' for v in per_seed)})")
    return outcome, ours, test.describe() + f" over seeds, {len(common)} common ω"


def verdicts(results: dict, settings: dict) -> list:
    """One verdict per ``CLAIMS`` entry, in order."""
    out = []
    text, paper = CLAIMS["synthesis_coherence"]
    outcome, ours, statistic = coherence_rule(results["exponents"])
    out.append(Verdict("synthesis_coherence", text, paper, ours, results["budget_towers"], outcome,
                       "95% t-interval of the per-seed growth exponent below / above the midpoint of the two "
                       "references' exponents on the same depths", statistic))
    text, paper = CLAIMS["synthesis_depth_notions"]
    outcome, ours, statistic = depth_rule(results["depth_notions"])
    lams = ", ".join(map(str, MIX_LAMS))
    out.append(Verdict("synthesis_depth_notions", text, paper, ours,
                       f"no training; the n = {MIX_DEPTH} tower's traced graph at λ ∈ {lams}", outcome,
                       "walk distributions equal across λ and means equal only at λ = 1, to 1e-9", statistic))
    for claim, rule, words in (
            ("synthesis_tower_match", tower_match_rule,
             "per net, Monte Carlo p of TV to the tower mix against random per-layer fractions of the same NAPL; "
             "Holm over nets at 0.05"),
            ("synthesis_tower_width", tower_width_rule,
             "paired t-test over post-training seeds of the mean std difference (extracted − tower mix) over "
             "the common ω")):
        text, paper = CLAIMS[claim]
        if results["post_missing"] or not results["post_configs"]:
            why = (f"{results['post_missing']} of {results['post_configs']} stored channel-wise post-training runs "
                   f"of chapter linearization_napl ({settings['profile']} profile) are missing; run that chapter "
                   f"first (this chapter never trains)")
            out.append(not_run(claim, text, paper, results["budget_linearized"], words, why))
            continue
        outcome, ours, statistic = rule(results["matches"])
        out.append(Verdict(claim, text, paper, ours, results["budget_linearized"], outcome, words, statistic))
    return out
