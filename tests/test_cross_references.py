"""Cross-references in the book are links, never hand-typed chapter numbers.

A chapter is named through its label (``(ch-ranking)=`` above its title) with ``{ref}``: either
``{ref}`ch-ranking``` (the title as link text) or ``{ref}`chapter 6 <ch-ranking>``` /
``{ref}`6 <ch-ranking>```. This test fails on a bare "chapter 6" anywhere in a chapter's source
(markdown and code) or in the book's Markdown pages, and on a link whose number is not the number
in the title of the chapter it points at (so renumbering a chapter cannot leave stale text behind).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.py"))
PAGES = sorted((ROOT / "book").rglob("*.md"))
ROLE = re.compile(r"\{(?:ref|numref|doc|eq|term)\}`[^`]*`")
LINKED = re.compile(r"\{ref\}`(?:[Cc]hapters? )?(\d+)('s)? <(ch-[\w-]+)>`")
BARE = re.compile(r"\b[Cc]hapters?\s+\d+")


def chapter_numbers() -> dict[str, int]:
    """label -> the number in the chapter's title (``(ch-x)=`` then ``# N. Title``)."""
    found = {}
    for path in CHAPTERS:
        m = re.search(r"^# \((ch-[\w-]+)\)=\n# # (\d+)\. ", path.read_text(), re.M)
        if m:
            found[m.group(1)] = int(m.group(2))
    return found


def test_every_numbered_chapter_has_a_label():
    numbers = chapter_numbers()
    assert len(set(numbers.values())) == len(numbers) and len(numbers) >= 10, numbers


@pytest.mark.parametrize("path", CHAPTERS + PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_hand_typed_chapter_numbers(path):
    numbers = chapter_numbers()
    problems = []
    for i, line in enumerate(path.read_text().splitlines(), 1):
        for m in LINKED.finditer(line):
            n, label = int(m.group(1)), m.group(3)
            if numbers.get(label) != n:
                problems.append(f"line {i}: {m.group(0)} but {label} is chapter {numbers.get(label)}")
        rest = ROLE.sub("", line)
        for m in BARE.finditer(rest):
            problems.append(f"line {i}: hand-typed {m.group(0)!r}: use {{ref}}`chapter N <ch-label>`")
    assert not problems, "\n".join(problems)


def test_every_bibliography_entry_is_cited():
    keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "book" / "references.bib").read_text(), re.M))
    cited = set()
    for path in CHAPTERS + PAGES:
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", path.read_text()):
            cited.update(k.strip() for k in group.split(","))
    cited.discard("key")  # the template's placeholder
    assert keys - cited == set(), f"never cited: {sorted(keys - cited)}"
    assert cited - keys == set(), f"cited but not in references.bib: {sorted(cited - keys)}"
