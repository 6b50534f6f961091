"""vlmsel: choose a vision-language model from a few unlabeled images.

The method is "Model Specific Task Similarity for Vision Language Model Selection via Layer
Conductance" (arXiv 2602.01346), specified in full in the book's chapters. Modules, each one idea:

- :mod:`vlmsel.groundtruth` -- the benchmark tables (LOVM, open_clip, SWAB) as DataFrames (chapter 1)
- :mod:`vlmsel.upstream` -- where those tables come from: pinned URLs, sha256, cache, download
- :mod:`vlmsel.files`, :mod:`vlmsel.progress` -- atomic writes and progress bars
- :mod:`vlmsel.recommend` -- select a model for your own images: :func:`vlmsel.select` (chapter 8)
- :mod:`vlmsel.profile_registry` -- published source profile stores (URL + sha256), downloaded and verified
- :mod:`vlmsel.report` -- a selection as one self-contained HTML report
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``vlmsel.select`` is imported on first use (it pulls in torch and open_clip)."""
    if name == "select":
        from vlmsel.recommend import select

        return select
    raise AttributeError(f"module 'vlmsel' has no attribute {name!r}")
