"""The book's Sphinx extensions (book/_ext), on hand-made doctrees."""

import sys
from collections import Counter
from pathlib import Path

import pytest
from docutils import nodes
from docutils.frontend import get_default_settings
from docutils.parsers.rst import Parser
from docutils.utils import new_document

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
resdepth_verdicts = pytest.importorskip("resdepth_verdicts")


@pytest.mark.parametrize("text, outcome", [
    ("reproduced", "reproduced"), ("partly reproduced (not covered: n = 1000)", "partly reproduced"),
    ("Not reproduced", "not reproduced"), ("inconclusive (not covered: CIFAR)", "inconclusive"),
    ("not run", "not run"), ("see the chapter", None), ("", None)])
def test_outcome_of_takes_the_longest_outcome_a_verdict_starts_with(text, outcome):
    assert resdepth_verdicts.outcome_of(text) == outcome


def report_doctree(verdicts) -> nodes.document:
    """A report page as it is once its glue is resolved: a tally container, then the table."""
    rows = "\n".join(f"   * - claim {i}\n     - **{v}**; a statistic" for i, v in enumerate(verdicts))
    source = (".. container:: verdict-tally\n\n   placeholder\n\n"
              f".. list-table::\n   :header-rows: 1\n   :name: tab-reproduction-report\n\n"
              f"   * - claim\n     - verdict\n{rows}\n")
    document = new_document("report", get_default_settings(Parser))
    Parser().parse(source, document)
    return document


def test_the_report_gets_one_badge_per_row_and_a_tally_that_adds_up():
    verdicts = ["reproduced", "partly reproduced (not covered: n = 1000)", "reproduced", "inconclusive", "not run"]
    doctree = report_doctree(verdicts)
    found = resdepth_verdicts.report_verdicts(doctree)
    assert found == ["reproduced", "partly reproduced", "reproduced", "inconclusive", "not run"]
    badges = [n for n in doctree.findall(nodes.strong) if "verdict-badge" in n["classes"]]
    assert [b["classes"][-1] for b in badges] == ["verdict-reproduced", "verdict-partly-reproduced",
                                                  "verdict-reproduced", "verdict-inconclusive", "verdict-not-run"]
    resdepth_verdicts.fill_tallies(doctree, Counter(found))
    tally = next(n for n in doctree.findall(nodes.paragraph) if "verdict-tally-line" in n["classes"])
    assert tally.astext() == "5 claims: 2 reproduced 1 partly reproduced 1 inconclusive 1 not run "
    assert "placeholder" not in doctree.astext()


def test_a_verdict_that_is_no_outcome_is_left_uncounted_and_warned(monkeypatch):
    warnings = []
    monkeypatch.setattr(resdepth_verdicts.logger, "warning", lambda message, **kw: warnings.append(message))
    doctree = report_doctree(["reproduced", "see the chapter"])
    assert resdepth_verdicts.report_verdicts(doctree) == ["reproduced"]
    assert len(warnings) == 1 and "'see the chapter; a statistic'" in warnings[0]  # -W turns it into a failed build
