"""A re-executed chapter as one page outside the book (``make chapter``).

The chapters' Markdown uses MyST, which only Jupyter Book reads: a ``{glue:figure}`` directive
places a glued figure and numbers it, ``{numref}`` refers to that number, ``{cite}`` cites
``book/references.bib`` and ``{doc}`` links another page. nbconvert would print all of these as
literal text. ``plain_markdown`` rewrites them as plain Markdown, numbering as the book does
(figures and tables counted apart, in the order they appear): the directive becomes its caption,
"**Figure 2.** ...", under the figure that the code cell above displays; ``{numref}`fig-x``` becomes
"Figure 2"; a citation becomes "(Author and Author 2025)"; a link to another page becomes its text.

    python -m resdepth.chapter_page _build/chapters/NB.ipynb    # rewrites the notebook in place
"""

import json
import re
import sys
from pathlib import Path

from .files import REPO_ROOT, atomic_write_text

FIGURE = re.compile(r"```\{glue:figure\}[ \t]*(\S+)[ \t]*\n(.*?)\n```", re.S)  # key, then options and caption
ROLE = re.compile(r"\{(numref|cite|cite:p|cite:t|doc)\}`([^`]*)`")
BIB_ENTRY = re.compile(r"@\w+\{([^,\s]+),(.*?)\n\}", re.S)
LATEX_ACCENTS = {'\\"o': "ö", '\\"a': "ä", '\\"u': "ü", "\\'e": "é", "\\`e": "è", "\\'a": "á"}


def kind_of(name: str) -> str:
    """"Table" for a glued table (``tab-...``), else "Figure": the book numbers the two apart."""
    return "Table" if name.startswith("tab-") else "Figure"


def figure_numbers(sources: list) -> dict:
    """{name: "Figure 2" | "Table 1"} for every ``{glue:figure}`` in the Markdown ``sources``, in order;
    the name is the directive's ``:name:`` option, else its key."""
    numbers, counts = {}, {"Figure": 0, "Table": 0}
    for source in sources:
        for key, body in FIGURE.findall(source):
            name = directive_name(key, body)
            counts[kind_of(name)] += 1
            numbers[name] = f"{kind_of(name)} {counts[kind_of(name)]}"
    return numbers


def directive_name(key: str, body: str) -> str:
    match = re.search(r"^:name:\s*\"?([^\"\n]+)\"?\s*$", body, re.M)
    return match.group(1).strip() if match else key


def caption(body: str) -> str:
    """The directive's caption: its body without the ``:option:`` lines, on one paragraph."""
    lines = [line for line in body.splitlines() if not line.startswith(":")]
    return " ".join(" ".join(lines).split())


def author_year(path=REPO_ROOT / "book" / "references.bib") -> dict:
    """{bib key: "Author 2025" | "Author and Author 2025" | "Author et al. 2025"} from ``path``."""
    text = Path(path).read_text()
    for latex, letter in LATEX_ACCENTS.items():
        text = text.replace("{" + latex + "}", letter).replace(latex, letter)
    out = {}
    for key, fields in BIB_ENTRY.findall(text):
        authors = re.search(r"\bauthor\s*=\s*\{(.*)\},?\s*$", fields, re.M)
        year = re.search(r"\byear\s*=\s*\{?(\d{4})", fields)
        names = [a.split(",")[0].strip().strip("{}") for a in authors.group(1).split(" and ")] if authors else [key]
        who = names[0] if len(names) == 1 else " and ".join(names) if len(names) == 2 else f"{names[0]} et al."
        out[key] = f"{who} {year.group(1)}" if year else who
    return out


def plain_markdown(source: str, numbers: dict, citations: dict) -> str:
    """``source`` with its MyST directives and roles as plain Markdown (see the module docstring);
    ``numbers`` from ``figure_numbers`` over the whole chapter, ``citations`` from ``author_year``."""
    def figure(match):
        name = directive_name(match.group(1), match.group(2))
        return f"**{numbers.get(name, kind_of(name))}.** {caption(match.group(2))}"

    def role(match):
        kind, text = match.groups()
        target = re.fullmatch(r"(.*?)\s*<([^>]+)>", text)
        if kind == "numref":
            name = target.group(2) if target else text
            number = numbers.get(name, f"the {kind_of(name).lower()} {name}")
            return target.group(1).replace("%s", number.split()[-1]) if target else number
        if kind == "doc":
            return target.group(1) if target else Path(text).name.replace("_", " ")
        return "(" + "; ".join(citations.get(k.strip(), k.strip()) for k in text.split(",")) + ")"

    return ROLE.sub(role, FIGURE.sub(figure, source))


def rewrite_notebook(path) -> int:
    """Rewrite the Markdown cells of the notebook ``path`` with ``plain_markdown``, in place and
    atomically; returns how many cells changed."""
    path = Path(path)
    notebook = json.loads(path.read_text())
    cells = [c for c in notebook["cells"] if c["cell_type"] == "markdown"]
    sources = ["".join(c["source"]) for c in cells]
    numbers, citations, changed = figure_numbers(sources), author_year(), 0
    for cell, source in zip(cells, sources):
        plain = plain_markdown(source, numbers, citations)
        changed += plain != source
        cell["source"] = plain
    atomic_write_text(path, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
    return changed


def main(argv: list) -> int:
    if len(argv) != 1 or not Path(argv[0]).is_file():
        print("usage: python -m resdepth.chapter_page <executed chapter .ipynb> (an existing notebook file)",
              file=sys.stderr)
        return 2
    try:
        rewrite_notebook(argv[0])
    except (json.JSONDecodeError, KeyError) as e:
        print(f"{argv[0]} is not a notebook ({e}): re-run make chapter to execute it again", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
