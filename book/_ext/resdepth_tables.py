"""Glued tables numbered as tables.

myst-nb pastes a glued DataFrame with ``{glue:figure}``, which makes a ``figure`` node: Sphinx would
number it "Fig. N" and ``{numref}`` would call it a figure. This extension turns every such figure
whose name starts with ``tab-`` into a ``glued_table`` node, a figure that Sphinx numbers in the
sequence of tables ("Table N", shared with ``{list-table}`` and ``{table}``) and that renders as a
figure with the class ``glued-table`` (see ``book/_static/resdepth.css``).

A chapter writes, after the cell that ran ``glue("tab-chapter-what", df, display=False)``::

    ```{glue:figure} tab-chapter-what
    :name: "tab-chapter-what"

    The caption.
    ```

and refers to it with ``{numref}`tab-chapter-what```.
"""

from docutils import nodes
from sphinx.transforms import SphinxTransform


class glued_table(nodes.figure):
    """A pasted output with a caption, numbered as a table."""


def _visit(self, node):
    self.visit_figure(node)


def _depart(self, node):
    self.depart_figure(node)


class GluedFiguresToTables(SphinxTransform):
    """Retype the figures named ``tab-...``: in place, so that the label table still points at them."""

    default_priority = 500  # while reading, before the std domain records labels and numbers

    def apply(self, **kwargs):
        for node in list(self.document.findall(nodes.figure)):
            if type(node) is nodes.figure and any(name.startswith("tab-") for name in node["names"]):
                node.__class__ = glued_table
                node["classes"].append("glued-table")


def setup(app):
    handlers = (_visit, _depart)
    app.add_enumerable_node(glued_table, "table", html=handlers, latex=handlers, text=handlers, man=handlers,
                            texinfo=handlers)
    app.add_transform(GluedFiguresToTables)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
