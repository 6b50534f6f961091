"""Every chapter is a jupytext pair, and the pair is in sync.

The ``.py`` (percent format) is the reviewed source; the ``.ipynb`` is derived from it (``make sync``)
and must hold the same cells, with no outputs (outputs belong to the executed copies in _build).
"""

from __future__ import annotations

from pathlib import Path

import jupytext
import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CHAPTERS = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.py"))


def _cells(nb):
    return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]


def test_there_are_chapters():
    assert CHAPTERS, "no notebooks/NN_name.py chapters found"


@pytest.mark.parametrize("py", CHAPTERS, ids=lambda p: p.name)
def test_pair_in_sync(py):
    ipynb = py.with_suffix(".ipynb")
    assert ipynb.exists(), f"{ipynb.name} is missing: run `make sync`"
    from_py = jupytext.read(py)
    from_ipynb = nbformat.read(ipynb, as_version=4)
    assert _cells(from_py) == _cells(from_ipynb), f"{py.name} and {ipynb.name} differ: run `make sync`"
    for cell in from_ipynb.cells:
        if cell.cell_type == "code":
            assert not cell.outputs, f"{ipynb.name} has stored outputs: run `make sync` (outputs live in _build)"


@pytest.mark.parametrize("py", CHAPTERS, ids=lambda p: p.name)
def test_chapter_anatomy(py):
    """The anatomy every chapter shares: an "Open in Colab" badge for its own notebook, a "What you will
    learn" list, exactly one cell tagged ``parameters`` (papermill sets the CI scale there), a ``## Summary``
    and a ``## Exercises`` section."""
    nb = jupytext.read(py)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "colab.research.google.com" in text and py.stem in text
    assert "What you will learn" in text
    assert "## Summary" in text and "## Exercises" in text
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, "exactly one cell tagged 'parameters'"
