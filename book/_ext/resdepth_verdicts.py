"""Verdict badges and the tally of outcomes, computed from the reproduction report at build time.

The report's verdict column is pasted from the chapters with ``{glue:text}`` (``**verdict**;
statistic``), so its words exist only once the glue is resolved. After that (Sphinx's
``doctree-resolved`` event, which follows myst-nb's glue post-transform), this extension:

- gives each verdict's bold text the classes ``verdict-badge verdict-<outcome>``, which
  ``book/_static/resdepth.css`` colours;
- fills every ``{container} verdict-tally`` block, on the report and on the landing page, with the
  count of each outcome over the report's rows, as badges.

A verdict cell that starts with none of the outcomes (``resdepth.verdict.OUTCOMES``) is a build
warning, so ``jupyter-book build -W`` fails rather than show an uncounted row.
"""

from collections import Counter

from docutils import nodes
from sphinx.util import logging

from resdepth.verdict import OUTCOMES, badge_class

REPORT_DOC = "book/reproduction_report"
REPORT_TABLE = "tab-reproduction-report"
TALLY_CLASS = "verdict-tally"
logger = logging.getLogger(__name__)


def outcome_of(text: str):
    """The outcome a verdict text starts with ("partly reproduced (not covered: ...)" -> "partly
    reproduced"), the longest match first; None if it starts with none."""
    text = text.strip().lower()
    return next((o for o in sorted(OUTCOMES, key=len, reverse=True) if text.startswith(o)), None)


def report_verdicts(doctree) -> list:
    """The bold verdict node of every row of the report's table, with its outcome; classes added."""
    tables = [t for t in doctree.findall(nodes.table) if REPORT_TABLE in t["ids"]]
    found = []
    for table in tables:
        for row in table.findall(nodes.row):
            if row.parent.tagname != "tbody":
                continue
            verdict_cell = row.children[-1]
            strong = next(iter(verdict_cell.findall(nodes.strong)), None)
            outcome = outcome_of(strong.astext()) if strong is not None else None
            if outcome is None:
                logger.warning(f"reproduction report: a row's verdict does not start with an outcome "
                               f"({', '.join(OUTCOMES)}): {verdict_cell.astext()[:80]!r}", location=row)
                continue
            strong["classes"] += ["verdict-badge", badge_class(outcome)]
            found.append(outcome)
    return found


def tally_paragraph(counts: Counter) -> nodes.paragraph:
    """"N claims:" then one badge per outcome with its count, in the order of OUTCOMES."""
    para = nodes.paragraph(classes=["verdict-tally-line"])
    para += nodes.strong(text=f"{sum(counts.values())} claims: ")
    for outcome in OUTCOMES:
        if counts[outcome]:
            para += nodes.inline(text=f"{counts[outcome]} {outcome}",
                                 classes=["verdict-badge", badge_class(outcome)])
            para += nodes.Text(" ")
    return para


def fill_tallies(doctree, counts: Counter) -> None:
    for container in list(doctree.findall(nodes.container)):
        if TALLY_CLASS in container["classes"]:
            container.children = []
            container += tally_paragraph(counts)


def on_doctree_resolved(app, doctree, docname):
    has_tally = any(TALLY_CLASS in c["classes"] for c in doctree.findall(nodes.container))
    if docname == REPORT_DOC:
        counts = Counter(report_verdicts(doctree))
    elif has_tally and REPORT_DOC in app.env.found_docs:
        counts = Counter(report_verdicts(app.env.get_and_resolve_doctree(REPORT_DOC, app.builder)))
    else:
        return
    if not counts:
        logger.warning(f"{docname}: the reproduction report's table has no verdicts to count")
    fill_tallies(doctree, counts)


def setup(app):
    app.connect("doctree-resolved", on_doctree_resolved)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
