"""The experiment registry: every chapter has a module, budgets resolve with checked overrides, and
every book-profile grid is exactly the set of runs stored in data/results (no orphaned hashes)."""

import pandas as pd
import pytest

from resdepth.errors import ConfigError
from resdepth.experiments import EXPERIMENTS, experiment, resolve, sweep_configs, trained_experiments
from resdepth.store import Store

NOTEBOOKS = ["training_basics", "expansion_theorem", "combinatorial_explosion", "table1_depth_scaling",
             "lambda_sweep", "geometric_complexity", "linearization_napl", "resnet56_ablation", "path_lengths",
             "function_space", "paths_across_papers", "lesion_study"]


def test_every_notebook_has_an_experiment_module_with_the_whole_interface():
    from pathlib import Path

    on_disk = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "notebooks").glob("*.py"))
    assert sorted(EXPERIMENTS) == on_disk == sorted(NOTEBOOKS)
    for name, module in EXPERIMENTS.items():
        # the three profiles, and the next book budgets being trained (book_v2, book_v3) beside them
        assert module.NAME == name and {"smoke", "book", "paper"} <= set(module.BUDGETS) <= {
            "smoke", "book", "book_v2", "book_v3", "paper"}, name
        assert callable(module.configs) and callable(module.run) and callable(module.verdicts), name
        assert isinstance(module.CLAIMS, dict) and isinstance(module.TRAINS, bool), name
    claims = [c for m in EXPERIMENTS.values() for c in m.CLAIMS]
    assert len(claims) == len(set(claims)), "claim ids must be unique across chapters (they name glue keys)"


def test_profile_fills_what_the_notebook_leaves_at_none():
    settings = resolve("training_basics", "book", depth=None, width=48)
    assert settings["width"] == 48 and settings["depth"] == experiment("training_basics").BUDGETS["book"]["depth"]
    assert settings["profile"] == "book"


def test_smoke_runs_on_the_committed_sample_and_book_on_the_real_dataset():
    for name in trained_experiments():
        budgets = experiment(name).BUDGETS
        assert budgets["smoke"]["dataset"] == "sample", name
        assert budgets["book"]["dataset"] == "fashion_mnist", name


@pytest.mark.parametrize("call, message", [
    (lambda: resolve("training_basics", "quick"), "unknown profile 'quick'"),
    (lambda: resolve("training_basics", "book", dept=3), "has no setting 'dept'; did you mean 'depth'"),
    (lambda: resolve("training_basics", "book", seeds=1), "seeds must be a list"),
    (lambda: resolve("training_basics", "book", depth="deep"), "depth must be a number"),
    (lambda: resolve("nope", "book"), "unknown experiment 'nope'; choose one of training_basics"),
])
def test_bad_settings_are_one_line_that_names_the_fix(call, message):
    with pytest.raises(ConfigError, match=message) as err:
        call()
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("name", ["table1_depth_scaling", "lambda_sweep", "training_basics", "linearization_napl",
                                  "resnet56_ablation"])
def test_the_book_grid_is_exactly_what_is_stored(name, monkeypatch):
    monkeypatch.delenv("RESDEPTH_RESULTS")
    configs = sweep_configs(name, "book")
    store = Store(profile="book")
    missing = [c.key for c in configs if store.load(c) is None]
    assert not missing, f"{name}: {len(missing)} book-profile runs are not stored (a hash changed?): {missing[:3]}"


def test_a_next_budget_is_named_and_a_wrong_one_is_one_line():
    assert sweep_configs("linearization_napl", "book", "book_v2")
    with pytest.raises(ConfigError, match="training_basics has no budget 'book_v2'; it has: smoke, book, paper"):
        resolve("training_basics", "book", budget="book_v2")


def test_table1_paper_grid_covers_rows_depths_lrs_and_seeds():
    paper = sweep_configs("table1_depth_scaling", "paper")
    assert len(paper) == 4 * 3 * 10 * 5 and len({c.key for c in paper}) == len(paper)
    assert {c.model_kwargs["width"] for c in paper if c.model_kwargs["depth"] == 1000} == {128}
    assert {c.model_kwargs["width"] for c in paper if c.model_kwargs["depth"] == 100} == {256}
    assert all(c.steps == 160_000 and c.batch_size == 64 and c.weight_decay == 0 and c.schedule == "constant"
               for c in paper)
    book = sweep_configs("table1_depth_scaling", "book")
    assert [c.model_kwargs["depth"] for c in book] == sorted(c.model_kwargs["depth"] for c in book)


def test_the_committed_report_lists_every_claim_of_every_chapter():
    from pathlib import Path

    from resdepth.book import report_markdown

    table = report_markdown()
    report = (Path(__file__).resolve().parents[1] / "book" / "reproduction_report.md").read_text()
    assert table in report, "book/reproduction_report.md is stale: run `make report`"
    for name, module in EXPERIMENTS.items():
        for claim in module.CLAIMS:
            assert f"/notebooks/{name}.py::{claim}_verdict" in table


def test_every_claim_links_to_a_figure_or_table_its_chapter_shows():
    """Issue 14 item 6: each report row links to the evidence behind it, a name the chapter's
    notebook gives a figure or table (an unknown name would only warn at build time)."""
    from pathlib import Path

    for name, module in EXPERIMENTS.items():
        assert set(module.EVIDENCE) == set(module.CLAIMS), name
        notebook = (Path(__file__).resolve().parents[1] / "notebooks" / f"{name}.py").read_text()
        for claim, label in module.EVIDENCE.items():
            assert f'# :name: "{label}"' in notebook, (claim, label)


def test_every_chapter_with_claims_shows_its_verdicts():
    from pathlib import Path

    for name, module in EXPERIMENTS.items():
        source = (Path(__file__).resolve().parents[1] / "notebooks" / f"{name}.py").read_text()
        if module.CLAIMS:
            assert "show_verdicts(" in source, f"notebooks/{name}.py glues no verdicts for the report"
        for outcome in ("reproduced", "inconclusive", "not run"):
            assert f'"{outcome}"' not in source and f"'{outcome}'" not in source, f"verdict logic in {name}"


def test_the_methods_page_pastes_every_budget_table():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "book" / "methods.py").read_text()
    for name in EXPERIMENTS:
        assert f':name: "tab-methods-budget-{name.replace("_", "-")}"' in page, name


def test_claims_read_as_plain_text_in_the_verdict_tables():
    from resdepth.book import plain_text

    assert plain_text(r"**Table 1**: $\lambda = 1/\sqrt{n}$ beats $\binom{n}{k}$") == "Table 1: λ = 1/√n beats C(n, k)"
    assert plain_text("as in Veit et al. {cite:p}`veit2016residual`") == "as in Veit et al. [veit2016residual]"
    for module in EXPERIMENTS.values():
        for text, paper in module.CLAIMS.values():
            assert "$" not in plain_text(text) + plain_text(paper) and "\\" not in plain_text(text)


def test_show_text_displays_a_wrapping_paragraph_that_reads_as_written(monkeypatch):
    """Budgets and notes are Markdown paragraphs (they wrap), not stdout boxes that scroll sideways;
    Markdown and MyST characters are escaped, so the rendered text is the text."""
    IPython = pytest.importorskip("IPython", reason="the book's display needs IPython (a GPU image may lack it)")

    from resdepth import book

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    book.show_text("Budget: fashion_mnist, lr 2**-6, $5 <b>x</b> [a](b) #1 |\n        120 runs, 2.3 h")
    (markdown,) = shown
    assert isinstance(markdown, IPython.display.Markdown)
    assert markdown.data == ("Budget: fashion\\_mnist, lr 2\\*\\*-6, \\$5 \\<b\\>x\\</b\\> \\[a\\](b) \\#1 \\|  \n"
                             "120 runs, 2.3 h")


def test_tables_read_as_words_and_numbers_without_nan_or_index():
    """Issue 14: no 'nan', True/False or 0..n index column on a page; big numbers separated."""
    import math

    import numpy as np

    from resdepth.book import cell_text, readable_table

    assert [cell_text(v) for v in (math.nan, None, np.nan, True, np.bool_(False), 1234567, np.int64(42),
                                   0.0039062, 87.654321, 1.5e-7, "λ=1/n")] == [
        "—", "—", "—", "yes", "no", "1,234,567", "42", "0.003906", "87.65", "1.5e-07", "λ=1/n"]
    html = readable_table(pd.DataFrame({"lr": [0.25, math.nan], "ok": [True, False], "runs": [1200, 3]})).to_html()
    assert "nan" not in html.lower() and "True" not in html and "1,200" in html and "—" in html
    assert ">0<" not in html and ">1<" not in html  # no 0..n index column
    labelled = readable_table(pd.DataFrame({"x": [1]}, index=pd.Index(["a"], name="row"))).to_html()
    assert ">a<" in labelled  # a real index stays


def test_a_chapters_verdicts_are_badges_coloured_by_outcome():
    """Issue 14 item 5: each verdict of a chapter's table is a badge with its outcome's class, which
    the stylesheet colours as the report's badges (one rule per outcome); the cell itself is not
    filled, and a missing range follows the badge as escaped text."""
    from pathlib import Path

    from resdepth.book import badged_verdict_table, verdict_badge
    from resdepth.verdict import OUTCOMES, Verdict

    verdicts = [Verdict(f"c{i}", "claim", "paper", "ours", "budget", outcome, "rule", "statistic")
                for i, outcome in enumerate(OUTCOMES)]
    html = badged_verdict_table(verdicts).to_html()
    css = (Path(__file__).resolve().parents[1] / "book" / "_static" / "resdepth.css").read_text()
    for outcome in OUTCOMES:
        name = "verdict-" + outcome.replace(" ", "-")
        assert f'<span class="verdict-badge {name}">{outcome}</span>' in html
        assert f".{name} {{ background-color" in css
    assert "td.verdict-outcome" not in css
    capped = Verdict("c", "claim", "paper", "ours", "budget", "reproduced", "rule", "statistic", missing="n < 10")
    assert verdict_badge(capped) == ('<span class="verdict-badge verdict-partly-reproduced">partly reproduced'
                                     '</span> (not covered: n &lt; 10)')
