"""The built book reads clean: no executed chapter prints a warning or an error, and no rendered page shows a
MyST role or directive as literal text (a ``{glue:text}`` whose key was never glued, a mistyped ``{numref}``).

These tests read the build (``make book``), so ``make test`` runs them after it (target ``built``, with
``VLMSEL_BUILT_BOOK=_build``); in a plain ``pytest tests`` without that variable they are skipped.
"""

from __future__ import annotations

import json
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

BUILD = os.environ.get("VLMSEL_BUILT_BOOK")
pytestmark = pytest.mark.skipif(not BUILD, reason="reads the built book: set VLMSEL_BUILT_BOOK (make test does)")

ROOT = Path(__file__).resolve().parents[2]
CHAPTERS = sorted(p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
LITERAL_ROLE = re.compile(r"\{(glue(:\w+)?|numref|ref|eq|term|cite(:\w+)?|doc)\}`?")


def _build() -> Path:
    path = Path(BUILD)
    return path if path.is_absolute() else ROOT / path


def stderr_and_errors(notebook: dict) -> list[str]:
    """Every stderr stream and error output of an executed notebook, as 'cell N: first line'."""
    found = []
    for i, cell in enumerate(notebook["cells"]):
        for out in cell.get("outputs", []):
            if out.get("output_type") == "stream" and out.get("name") == "stderr":
                text = "".join(out["text"]).strip()
                found.append(f"cell {i}: {text.splitlines()[0] if text else '(empty stderr)'}")
            elif out.get("output_type") == "error":
                found.append(f"cell {i}: {out.get('ename')}: {out.get('evalue')}")
    return found


class _Text(HTMLParser):
    """The text of a page outside <pre>, <code>, <script>, <style> and math (where MyST syntax may be shown)."""

    SKIP = {"pre", "code", "script", "style", "math"}

    def __init__(self):
        super().__init__()
        self.depth, self.parts = 0, []

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth:
            self.parts.append(data)


def visible_text(html: str) -> str:
    parser = _Text()
    parser.feed(html)
    return " ".join(parser.parts)


def test_the_literal_role_check_sees_what_a_reader_sees():
    page = "<p>DCD picks {glue:text}`inb_pick`.</p><pre>{glue:text}`shown as code`</pre><code>{numref}`x`</code>"
    found = LITERAL_ROLE.findall(visible_text(page))
    assert [f[0] for f in found] == ["glue:text"]
    nb = {"cells": [{"outputs": [{"output_type": "stream", "name": "stderr", "text": ["x.py:3: UserWarning: no\n"]},
                                 {"output_type": "stream", "name": "stdout", "text": ["fine"]}]}]}
    assert stderr_and_errors(nb) == ["cell 0: x.py:3: UserWarning: no"]


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_executed_chapter_prints_no_warning_or_error(chapter):
    path = _build() / "executed" / "notebooks" / f"{chapter}.ipynb"
    assert path.is_file(), f"{path}: not executed (run make book first)"
    found = stderr_and_errors(json.loads(path.read_text()))
    assert not found, f"{path.name} prints to stderr (shown in the page): " + "; ".join(found)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_rendered_chapter_shows_no_literal_myst_role(chapter):
    path = _build() / "html" / "notebooks" / f"{chapter}.html"
    assert path.is_file(), f"{path}: not rendered (run make book first)"
    found = sorted({m.group(0) for m in LITERAL_ROLE.finditer(visible_text(path.read_text()))})
    assert not found, f"{path.name} shows MyST roles as text: {found}"


def test_rendered_reference_pages_show_no_literal_myst_role():
    pages = sorted((_build() / "html" / "book").rglob("*.html"))
    assert pages, "no rendered book pages (run make book first)"
    bad = {p.name: sorted({m.group(0) for m in LITERAL_ROLE.finditer(visible_text(p.read_text()))}) for p in pages}
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"pages show MyST roles as text: {bad}"
