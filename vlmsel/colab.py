"""Where the book's Colab badges and install cells point: one repository URL and one pinned version.

Every chapter opens in Colab from a badge, and its first code cell installs vlmsel there. Both must
point at the same repository and the same *pinned* version (a tag or a commit), so that a reader who
opens a chapter gets the code the chapter was written for, not whatever ``main`` holds today. This
module is the one place to change them: edit :data:`REPOSITORY` or :data:`PINNED`, then run
``python -m vlmsel.colab --write`` (or ``make sync``) to rewrite the badge and the install cell of every
chapter; ``tests/test_colab.py`` fails while a chapter disagrees with this module.

The install cell runs only in Colab, or anywhere when ``VLMSEL_INSTALL`` names what to install
instead (a wheel file): that is how the test executes a chapter in a fresh virtual environment that
holds only the built wheel.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

#: The repository the badges open and the install cell installs from (``_config.yml`` names it too).
REPOSITORY = "https://github.com/vlmsel/vlmsel"
#: The pinned version: a tag or a commit of :data:`REPOSITORY` (the release the book was built for).
PINNED = "v0.1.0"

BADGE_RE = re.compile(
    r"\[!\[Open In Colab\]\(https://colab\.research\.google\.com/assets/colab-badge\.svg\)\]"
    r"\(https://colab\.research\.google\.com/github/[^)]*\)"
)
CELL_START = '# %% tags=["remove-cell"]\n# Colab bootstrap:'


def _github_path() -> str:
    return REPOSITORY.removeprefix("https://github.com/").rstrip("/")


def badge(chapter: str) -> str:
    """The Markdown of the "Open in Colab" badge of ``chapter`` (a stem, ``"06_ranking"``)."""
    url = f"https://colab.research.google.com/github/{_github_path()}/blob/{PINNED}/notebooks/{chapter}.ipynb"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def requirement() -> str:
    """The pip requirement the install cell installs: ``vlmsel[book] @ git+<REPOSITORY>@<PINNED>``."""
    return f"vlmsel[book] @ git+{REPOSITORY}@{PINNED}"


def install_cell() -> str:
    """The source of the install cell (jupytext percent format, tagged ``remove-cell``)."""
    return f'''# %% tags=["remove-cell"]
# Colab bootstrap: installs the pinned vlmsel in Colab (or VLMSEL_INSTALL, if set).
# Generated from vlmsel/colab.py: change the repository or version there.
import os
import subprocess
import sys

PACKAGE = os.environ.get("VLMSEL_INSTALL") or "{requirement()}"
if "google.colab" in sys.modules or os.environ.get("VLMSEL_INSTALL"):
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", PACKAGE],
                   check=True)
'''


def render(text: str, chapter: str) -> str:
    """``text`` (a chapter's ``.py`` source) with its badge and install cell as this module says."""
    text = BADGE_RE.sub(lambda _: badge(chapter), text)
    start = text.find(CELL_START)
    if start >= 0:
        end = text.find("\n# %%", start + 1)
        text = text[:start] + install_cell() + text[end:]
    return text


def chapter_sources(root: str | Path) -> list[Path]:
    """The chapter sources ``notebooks/NN_*.py`` and the template under ``root``."""
    nb = Path(root) / "notebooks"
    return sorted(nb.glob("[0-9][0-9]_*.py")) + [nb / "_template.py"]


def main(argv: list[str] | None = None) -> int:
    """``python -m vlmsel.colab [--write] [ROOT]``: list (or rewrite) the chapters that disagree."""
    args = list(sys.argv[1:] if argv is None else argv)
    write = "--write" in args
    args = [a for a in args if a != "--write"]
    root = Path(args[0]) if args else Path.cwd()
    stale = []
    for path in chapter_sources(root):
        chapter = "NN_name" if path.name == "_template.py" else path.stem
        old = path.read_text()
        new = render(old, chapter)
        if new != old:
            stale.append(path)
            if write:
                path.write_text(new)
    for path in stale:
        print(("rewrote " if write else "stale: ") + str(path))
    return 0 if write or not stale else 1


if __name__ == "__main__":
    raise SystemExit(main())
