"""What every chapter notebook repeats: its setup, showing-and-gluing, and its verdicts.

- ``setup(name, profile, **parameters)``: the plot theme, the smoke banner, the resolved
  settings (``resdepth.experiments.resolve``) and the profile's ``Store``;
- ``show(key, obj)``: display a figure or table in the notebook (so a re-run chapter shows it)
  and glue it under ``key`` for the book's ``{glue:figure}``;
- ``show_verdicts(verdicts)``: a table of the chapter's verdicts, and each verdict's fields glued
  under ``<claim>_ours``, ``<claim>_budget``, ``<claim>_verdict``, ``<claim>_statistic`` for the
  reproduction report (``report_markdown`` writes that page from every module's ``CLAIMS``).
"""

import re
from numbers import Integral, Real

import numpy as np
import pandas as pd

from .experiments import EXPERIMENTS, resolve
from .files import scratch_results_dir
from .store import Store
from .verdict import badge_class

SMOKE_BANNER = ("SMOKE PROFILE: these numbers only exercise the code on the small committed sample. "
                "They are not results.")
VERDICT_FIELDS = ("ours", "budget", "verdict", "statistic")


def setup(name: str, profile: str, **parameters) -> tuple:
    """(settings, store) of chapter ``name``; prints the smoke banner in the smoke profile.

    A parameter set to anything but None tweaks the chapter: its new runs then go to the scratch
    store (``data/scratch-results``, ignored by git), which also serves the profile's stored runs
    read-only, so a tweak never adds to or changes the book's results."""
    import seaborn as sns

    settings = resolve(name, profile, **parameters)
    sns.set_theme(context="notebook", style="whitegrid")
    if profile == "smoke":
        print(SMOKE_BANNER)
    store = Store(profile=profile)
    tweaks = {k: v for k, v in parameters.items() if v is not None}
    if tweaks and profile != "smoke":
        store = Store(scratch_results_dir(), profile=profile, reads_from=store)
        print(f"Tweaked parameters ({', '.join(f'{k}={v!r}' for k, v in tweaks.items())}): new runs go to "
              f"{store.root}, not the book's store; the book's stored runs are read as they are.")
    return settings, store


def cell_text(value) -> str:
    """One table cell as a reader reads it: "—" for a missing value (never "nan"), "yes"/"no" for a
    bool, integers with thousands separators, floats to 4 significant digits."""
    if value is None or (isinstance(value, float) and value != value):
        return "—"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, Integral):
        return f"{value:,}"
    if isinstance(value, Real):
        return f"{value:,.4g}"
    return str(value)


def readable_table(df: pd.DataFrame):
    """A DataFrame styled for the page (``cell_text`` in every cell), without the 0..n index column."""
    styler = df.style.format(cell_text)
    return styler.hide(axis="index") if isinstance(df.index, pd.RangeIndex) else styler


def show(key: str, obj) -> None:
    """Display ``obj`` (a matplotlib figure, a DataFrame, or a styled one) here and glue it under
    ``key``; a DataFrame is shown as ``readable_table``."""
    import matplotlib.pyplot as plt
    from IPython.display import display
    from myst_nb import glue

    if isinstance(obj, pd.DataFrame):
        obj = readable_table(obj)
    glue(key, obj, display=False)
    display(obj)
    if isinstance(obj, plt.Figure):
        plt.close(obj)


MARKDOWN_SPECIALS = "\\`*_[]<>$#|"  # characters a printed line must not hand to Markdown or MyST math


def show_text(text: str) -> None:
    """Display ``text`` (a budget, a note) as a paragraph that wraps at the page's width, where a
    ``print`` makes a monospace box that scrolls sideways; in Jupyter, papermill's output and the
    book alike. Markdown's special characters are escaped, so the text shows as written."""
    from IPython.display import Markdown, display

    escaped = "".join("\\" + c if c in MARKDOWN_SPECIALS else c for c in text)
    display(Markdown("  \n".join(" ".join(line.split()) for line in escaped.splitlines())))


# LaTeX in a claim's markdown, as plain text for table cells (MathJax does not typeset output cells)
LATEX_AS_TEXT = [(r"\lambda", "λ"), (r"\varepsilon", "ε"), (r"\beta", "β"), (r"\phi", "φ"), (r"\langle", "⟨"),
                 (r"\rangle", "⟩"), (r"\le", "≤"), (r"\sim", "~"), (r"\top", "ᵀ"), (r"\max", "max"),
                 (r"\mathrm", ""), (r"\overline", ""), (r"\bar ", ""), (r"\,", " "), (r"\|", "‖")]


def plain_text(markdown: str) -> str:
    """A claim's markdown without bold marks or TeX: '$\\lambda = 1/\\sqrt{n}$' -> 'λ = 1/√n'."""
    text = re.sub(r"\{cite:p\}`([^`]*)`", r"[\1]", markdown.replace("**", ""))
    text = re.sub(r"\\sqrt\{([^}]*)\}", r"√\1", text)
    text = re.sub(r"\\binom\{([^}]*)\}\{([^}]*)\}", r"C(\1, \2)", text)
    for tex, plain in LATEX_AS_TEXT:
        text = text.replace(tex, plain)
    return text.replace("$", "").replace("{", "").replace("}", "")


def verdict_table(verdicts) -> pd.DataFrame:
    """The chapter's verdicts as a table: claim, paper, ours, verdict, rule and statistic."""
    return pd.DataFrame([{"claim": plain_text(v.text), "paper": plain_text(v.paper), "ours": v.ours,
                          "verdict": v.summary, "rule": v.rule, "statistic": v.statistic} for v in verdicts])


def verdict_badge(verdict) -> str:
    """A verdict cell's HTML: the outcome as a badge (``verdict-badge verdict-<outcome>``, coloured by
    book/_static/resdepth.css as the report's badges), then what the budget did not cover, as text."""
    from html import escape

    rest = verdict.summary[len(verdict.outcome):]
    return f'<span class="verdict-badge {badge_class(verdict.outcome)}">{escape(verdict.outcome)}</span>{escape(rest)}'


VERDICT_ROWS = ("paper", "ours", "verdict", "rule", "statistic")  # a claim's lines in a chapter's verdict table


def badged_verdict_table(verdicts):
    """The chapter's verdicts for the page, one block of lines per claim: the claim (spanning its
    block), then the paper's value, ours, the verdict as a badge in its colour (``verdict_badge``),
    the rule and the statistic, each on a line of its own. Six side-by-side columns of long text
    made every row a screen tall."""
    table = verdict_table(verdicts)
    table["verdict"] = [verdict_badge(v) for v in verdicts]
    lines = [(claim, field, value) for claim, row in zip(table["claim"], table.to_dict("records"))
             for field, value in ((f, row[f]) for f in VERDICT_ROWS)]
    long = pd.DataFrame(lines, columns=["claim", "field", "value"]).set_index(["claim", "field"])
    styled = readable_table(long).hide(axis="columns").hide(axis="index", names=True)
    return styled.set_table_attributes('class="dataframe verdict-table"')


def show_verdicts(verdicts, key: str) -> None:
    """Show the chapter's verdict table (glued as ``key``), each outcome a badge in its colour,
    and glue each verdict's fields for the reproduction report."""
    from myst_nb import glue

    show(key, badged_verdict_table(verdicts))
    for v in verdicts:
        for field, value in zip(VERDICT_FIELDS, (v.ours, v.budget, v.summary, v.statistic)):
            glue(f"{v.claim}_{field}", value, display=False)


def report_markdown() -> str:
    """The reproduction report's table: one row per claim of every experiment's ``CLAIMS``, linked to
    its chapter and to the figure or table behind it (``EVIDENCE``), its measured columns pasted by
    glue from the chapter that judged it (``show_verdicts``)."""
    rows = []
    for name, module in EXPERIMENTS.items():
        for claim, (text, paper) in module.CLAIMS.items():
            ref = f"/notebooks/{name}.py::{claim}"
            rows.append(f"* - {text} ({{doc}}`chapter </notebooks/{name}>`, {{numref}}`{module.EVIDENCE[claim]}`)\n"
                        f"  - {paper}\n"
                        f"  - {{glue:text}}`{ref}_ours:s`\n  - {{glue:text}}`{ref}_budget:s`\n"
                        f"  - **{{glue:text}}`{ref}_verdict:s`**; {{glue:text}}`{ref}_statistic:s`")
    header = ("```{list-table} The claims of both papers: the paper's value, ours, our budget, and the verdict "
              "with the statistic that decided it.\n:name: tab-reproduction-report\n:header-rows: 1\n"
              ":widths: 26 17 22 17 18\n\n* - claim\n  - paper\n  - ours\n  - budget\n  - verdict\n")
    return header + "\n".join(rows) + "\n```\n"


def replace_report_table(path) -> None:
    """Rewrite the ``{list-table}`` block of the markdown page ``path`` with ``report_markdown()``."""
    from pathlib import Path

    from .errors import ConfigError
    from .files import atomic_write_text

    text = Path(path).read_text()
    start = text.find("```{list-table}")
    end = text.find("\n```\n", start)
    if start < 0 or end < 0:
        raise ConfigError(f"{path} has no ```{{list-table}} block to replace; add one where the table goes")
    atomic_write_text(path, text[:start] + report_markdown() + text[end + len("\n```\n"):])

