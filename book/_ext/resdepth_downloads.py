"""The executed notebook of every chapter, offered by the page's download button.

sphinx-book-theme offers an ``.ipynb`` download for notebooks written as ``.ipynb`` or MyST
markdown; the book's chapters are jupytext percent files (``notebooks/*.py``), which it offers only
as ``.py`` source. myst-nb writes each executed notebook, outputs included, to
``_build/jupyter_execute/<page>.ipynb``; this extension copies it into ``_build/html/_sources/``
and names it in the page context (``ipynb_source``), where the theme's download button looks.
"""

from pathlib import Path
from shutil import copy2


def offer_executed_notebook(app, pagename, templatename, context, doctree):
    if app.builder.format != "html" or pagename not in app.env.found_docs:
        return
    if Path(app.env.doc2path(pagename)).suffix != ".py":
        return
    executed = Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb"
    if not executed.is_file():
        return
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    copy2(executed, target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app):
    app.connect("html-page-context", offer_executed_notebook, priority=500)  # before the theme's buttons (501)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
