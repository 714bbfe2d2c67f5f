import json

from resdepth.chapter_page import author_year, figure_numbers, main, plain_markdown

CELLS = [
    "As {cite}`mehmeti2025deeper` and {cite:p}`dherin2025depth,he2016deep` show ({numref}`fig-b`, "
    "{numref}`tab-a`, {numref}`Panel %s <fig-c>`); see the {doc}`reproduction report </book/reproduction_report>` "
    "and {doc}`/book/methods`.",
    '```{glue:figure} fig-b\n:name: "fig-b"\n\nAccuracy against $\\lambda$,\nmean over seeds.\n```',
    '```{glue:figure} tab-a\n:name: "tab-a"\n\nThe gaps.\n```\n\nText after.',
    "```{glue:figure} fig-c\n\nThe second figure.\n```",
]


def test_figures_and_tables_are_numbered_apart_in_order():
    assert figure_numbers(CELLS) == {"fig-b": "Figure 1", "tab-a": "Table 1", "fig-c": "Figure 2"}


def test_myst_roles_and_directives_become_plain_markdown():
    numbers, citations = figure_numbers(CELLS), author_year()
    first, fig, tab, fig2 = (plain_markdown(c, numbers, citations) for c in CELLS)
    assert first == ("As (Mehmeti-Göpel and Wand 2025) and (Dherin and Munn 2025; He et al. 2016) show (Figure 1, "
                     "Table 1, Panel 2); see the reproduction report and methods.")
    assert fig == "**Figure 1.** Accuracy against $\\lambda$, mean over seeds."
    assert tab == "**Table 1.** The gaps.\n\nText after."
    assert fig2 == "**Figure 2.** The second figure."
    assert plain_markdown("{numref}`fig-gone` and {cite}`nobody2020`", {}, citations) == \
        "the figure fig-gone and (nobody2020)"


def test_the_command_rewrites_a_notebook_and_refuses_anything_else_in_one_line(tmp_path, capsys):
    notebook = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": CELLS[1]},
                          {"cell_type": "code", "metadata": {}, "source": "{numref}`fig-b`", "outputs": [],
                           "execution_count": None}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "chapter.ipynb"
    path.write_text(json.dumps(notebook))
    assert main([str(path)]) == 0
    cells = json.loads(path.read_text())["cells"]
    assert cells[0]["source"].startswith("**Figure 1.**") and cells[1]["source"] == "{numref}`fig-b`"  # code kept
    path.write_text("not json")
    assert main([str(path)]) == 2 and main([str(tmp_path / "missing.ipynb")]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 2 and "re-run make chapter" in lines[0] and "usage:" in lines[1]
