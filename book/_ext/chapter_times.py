"""Sphinx extension: the directive ``chapter-times``, a table of each chapter's measured execution time.

The book is rendered from the notebooks that papermill executed (``make execute``); papermill records
each notebook's wall time in its metadata (``metadata.papermill.duration``, seconds). The directive reads
those of every ``notebooks/NN_*.ipynb`` beside the page being built and writes a Markdown table, one row
per chapter with a link, so that the times a reader sees are the ones this build measured, never typed.
A notebook without the record (not executed by papermill) shows "not measured".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective


def measured_times(srcdir: str | Path) -> list[tuple[str, float | None]]:
    """(docname, seconds or None) of every ``notebooks/NN_*.ipynb`` under ``srcdir``, in name order."""
    rows = []
    for path in sorted(Path(srcdir, "notebooks").glob("[0-9][0-9]_*.ipynb")):
        meta = json.loads(path.read_text()).get("metadata", {}).get("papermill", {})
        duration = meta.get("duration")
        rows.append((f"notebooks/{path.stem}", float(duration) if duration is not None else None))
    return rows


def _format(seconds: float | None) -> str:
    if seconds is None:
        return "not measured"
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


class ChapterTimes(SphinxDirective):
    """``chapter-times``: Markdown table | chapter | executed in | of the build's executed notebooks."""

    has_content = False

    def run(self) -> list[Any]:
        rows = measured_times(self.env.srcdir)
        total = sum(s for _, s in rows if s is not None)
        lines = ["| chapter | executed in (this build, CI scale) |", "|---|---|"]
        lines += [f"| {{doc}}`/{doc}` | {_format(s)} |" for doc, s in rows]
        lines += [f"| all chapters | {_format(total)} |"]
        for doc, _ in rows:
            self.env.note_dependency(str(Path(self.env.srcdir, doc + ".ipynb")))
        container = StringList(lines, source=self.get_source_info()[0])
        from docutils import nodes

        node = nodes.container(classes=["chapter-times"])
        self.state.nested_parse(container, self.content_offset, node)
        return [node]


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("chapter-times", ChapterTimes)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
