"""Verdicts: one record per claim of the papers, and the statistics that decide them.

A ``Verdict`` carries the claim (id and words), the paper's value and ours, our budget, the
outcome, the rule in words and the statistic that decided it. The outcomes:

- ``reproduced``: the rule's test separates the claimed effect from its absence, at our budget;
- ``partly reproduced``: part of the claim holds, or all of it holds on a range narrower than the
  paper's (a ``Verdict`` with ``missing`` set is capped here: it says which part is missing);
- ``not reproduced``: the test separates the outcome, and it is the opposite of the claim;
- ``inconclusive``: the seeds cannot separate the outcomes;
- ``not run``: we have no measurement.

Each chapter's rules live in its experiment module (``resdepth.experiments``), written before the
runs they judge, and are tested on hand-made records. The statistics here are small and named:
a one-sample (paired) t-test on per-seed differences, a bootstrap interval, Spearman's rank
correlation with its permutation p-value.
"""

import itertools
import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

OUTCOMES = ("reproduced", "partly reproduced", "not reproduced", "inconclusive", "not run")
ALPHA = 0.05  # every test in the book is two-sided at this level unless its rule says otherwise


def badge_class(outcome: str) -> str:
    """The CSS class that colours ``outcome``'s badge (book/_static/resdepth.css): "partly reproduced"
    -> "verdict-partly-reproduced"; the report (book/_ext/resdepth_verdicts.py) and the chapters'
    tables (resdepth.book.verdict_badge) use it."""
    return "verdict-" + outcome.replace(" ", "-")


@dataclass(frozen=True)
class Verdict:
    claim: str  # stable id, e.g. "table1.scaled_train"; the report and glue keys use it
    text: str  # the claim in words
    paper: str  # the paper's value or statement
    ours: str  # our measurement, in words and numbers
    budget: str  # our budget: data, nets, epochs, seeds, compute
    outcome: str  # one of OUTCOMES
    rule: str  # the rule in words: test, threshold, seeds
    statistic: str  # the statistic that decided it (test, p-value or interval, number of seeds)
    missing: str = ""  # the part of the claim's range our budget did not reach ("" if none)

    def __post_init__(self):
        if self.outcome not in OUTCOMES:
            raise ValueError(f"outcome must be one of {', '.join(OUTCOMES)}; got {self.outcome!r}")
        if self.missing and self.outcome == "reproduced":
            object.__setattr__(self, "outcome", "partly reproduced")  # a range not reached caps the verdict

    @property
    def summary(self) -> str:
        """The outcome with the missing part, as the report shows it."""
        return self.outcome + (f" (not covered: {self.missing})" if self.missing else "")

    def to_dict(self) -> dict:
        return asdict(self)


def not_run(claim: str, text: str, paper: str, budget: str, rule: str, why: str) -> Verdict:
    """The verdict of a claim with no measurement, saying why."""
    return Verdict(claim, text, paper, f"no measurement: {why}", budget, "not run", rule, "none")


def combine(outcomes) -> str:
    """The outcome of a claim made of parts: all reproduced -> reproduced; any not run -> not run
    if nothing else is known; all inconclusive -> inconclusive; any reproduced -> partly
    reproduced; otherwise the parts' common outcome, or partly reproduced / inconclusive."""
    outcomes = list(outcomes)
    known = [o for o in outcomes if o != "not run"]
    if not known:
        return "not run"
    if all(o == "reproduced" for o in outcomes):
        return "reproduced"
    if any(o in ("reproduced", "partly reproduced") for o in known):
        return "partly reproduced"
    if all(o == "not reproduced" for o in known):
        return "not reproduced"
    return "inconclusive"


# ----------------------------------------------------------------------------- statistics


@dataclass(frozen=True)
class TTest:
    """A one-sample t-test of mean(differences) = 0, with its two-sided confidence interval."""

    mean: float
    low: float
    high: float
    p: float
    n: int

    @property
    def sign(self) -> int:
        """+1 / -1 where the interval excludes 0 (p < ALPHA), 0 where it cannot tell."""
        if self.n < 2 or not self.p < ALPHA:
            return 0
        return 1 if self.mean > 0 else -1

    def describe(self, scale: float = 1.0, unit: str = "") -> str:
        if self.n < 2:
            return f"mean {scale * self.mean:+.3g}{unit} from {self.n} value(s): no test possible"
        return (f"mean {scale * self.mean:+.3g}{unit}, {100 * (1 - ALPHA):.0f}% CI [{scale * self.low:+.3g}, "
                f"{scale * self.high:+.3g}]{unit}, paired t-test p = {self.p:.2g}, n = {self.n}")


def paired_t_test(differences) -> TTest:
    """One-sample t-test on per-seed (paired) differences; with fewer than 2 finite values, p = nan."""
    d = np.asarray([x for x in differences if x == x], dtype=float)
    n = len(d)
    if n == 0:
        return TTest(math.nan, math.nan, math.nan, math.nan, 0)
    mean = float(d.mean())
    if n < 2:
        return TTest(mean, math.nan, math.nan, math.nan, 1)
    se = float(d.std(ddof=1) / math.sqrt(n))
    if se == 0:
        p = 0.0 if mean != 0 else 1.0
        return TTest(mean, mean, mean, p, n)
    t = mean / se
    half = stats.t.ppf(1 - ALPHA / 2, n - 1) * se
    return TTest(mean, mean - half, mean + half, float(2 * stats.t.sf(abs(t), n - 1)), n)


def bootstrap_interval(values, statistic=np.mean, draws: int = 10_000, seed: int = 0) -> tuple:
    """Percentile bootstrap interval (two-sided, level 1 - ALPHA) of ``statistic`` over ``values``
    (resampled along the first axis); ``(nan, nan)`` with fewer than 2 values."""
    values = np.asarray(values, dtype=float)
    if len(values) < 2:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(values), size=(draws, len(values)))
    estimates = np.array([statistic(values[i]) for i in picks])
    return float(np.quantile(estimates, ALPHA / 2)), float(np.quantile(estimates, 1 - ALPHA / 2))


def rank_correlation(x, y, draws: int = 100_000, seed: int = 0) -> tuple:
    """Spearman's rank correlation of ``x`` and ``y`` and its two-sided permutation p-value: the
    share of orderings of ``y`` whose |rho| is at least the observed one, over every ordering for
    n <= 9 (exact, from n! orderings), else over ``draws`` random ones (seeded; the observed one
    counted in). (nan, nan) with fewer than 3 points or a constant sample. Ties get average ranks,
    as in ``scipy.stats.spearmanr``.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n < 3:
        return math.nan, math.nan
    rx, ry = stats.rankdata(x), stats.rankdata(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    scale = math.sqrt((rx**2).sum() * (ry**2).sum())
    if scale == 0:
        return math.nan, math.nan  # a constant sample: no rank correlation
    rho = float(rx @ ry / scale)
    if n <= 9:
        orders = np.array(list(itertools.permutations(range(n))), dtype=np.int8)
        return rho, float(np.mean(np.abs(ry[orders] @ rx / scale) >= abs(rho) - 1e-12))
    orders = np.argsort(np.random.default_rng(seed).random((draws, n)), axis=1)
    extreme = int(np.sum(np.abs(ry[orders] @ rx / scale) >= abs(rho) - 1e-12))
    return rho, (1 + extreme) / (1 + draws)  # the observed ordering counts as one draw


def mean_se(values) -> tuple:
    """(mean, standard error) over the finite values; the s.e. is nan with fewer than 2."""
    v = np.asarray([x for x in values if x == x], dtype=float)
    if not len(v):
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1) / math.sqrt(len(v))) if len(v) > 1 else math.nan
