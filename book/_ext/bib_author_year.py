"""Sphinx extension: the bibliography labelled the way the text cites, by author and year.

The text cites with sphinxcontrib-bibtex's ``author_year`` reference style ("Dhamdhere et al. [2019]");
the default bibliography style would label the list with alpha keys ("[DSY19]"), a second citation style
a reader cannot match with the first. This registers the pybtex formatting style ``author_year``: the
``plain`` style (entries sorted by author, year, title) with labels "Dhamdhere et al., 2019". The book
selects it with ``bibtex_default_style: author_year`` (``_config.yml``).
"""

from __future__ import annotations

import codecs
from typing import Any

import latexcodec  # noqa: F401  (registers the 'ulatex' codec; a dependency of pybtex)

from pybtex.plugin import register_plugin
from pybtex.style.formatting.plain import Style as PlainStyle
from pybtex.style.labels import BaseLabelStyle


def _last_names(entry: Any) -> list[str]:
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    return [" ".join(p.last_names) or " ".join(p.first_names) for p in people]


class AuthorYearLabelStyle(BaseLabelStyle):
    """Labels "Last, year" (one author), "Last and Other, year" (two), "Last et al., year" (more)."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            names = [n for n in _last_names(entry) if n.lower() != "others"]
            many = len(names) > 2 or any(p.last_names == ["others"] for p in entry.persons.get("author", []))
            if not names:
                who = entry.fields.get("title", entry.key)
            elif many:
                who = f"{names[0]} et al."
            else:
                who = " and ".join(names)
            label = f"{who}, {entry.fields.get('year', 'n.d.')}"
            yield codecs.decode(label, "ulatex").replace("{", "").replace("}", "")


class AuthorYearStyle(PlainStyle):
    default_label_style = AuthorYearLabelStyle


def setup(app: Any) -> dict[str, Any]:
    register_plugin("pybtex.style.formatting", "author_year", AuthorYearStyle)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
