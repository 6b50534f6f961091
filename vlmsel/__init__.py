"""vlmsel: choose a vision-language model from a few unlabeled images.

The method is "Model Specific Task Similarity for Vision Language Model Selection via Layer
Conductance" (arXiv 2602.01346), specified in full in the book's chapters. Modules, each one idea.

Ground truth and data:

- :mod:`vlmsel.groundtruth` -- the benchmark tables (LOVM, open_clip, SWAB, mini) as DataFrames (chapter 1)
- :mod:`vlmsel.upstream` -- where those tables come from: pinned URLs, sha256, cache, download
- :mod:`vlmsel.zoo` -- model zoos (lovm35, openclip48, openclip121, your list) and loading with QuickGELU right
- :mod:`vlmsel.datasets`, :mod:`vlmsel.images` -- tasks (LOVM datasets, folders of images) and reproducible samples
- :mod:`vlmsel.zeroshot` -- zero-shot accuracy, to add a model or a source dataset to a benchmark


The method, in the order it runs:

- :mod:`vlmsel.conductance` -- every block's conductance in one pass (chapters 2 and 3)
- :mod:`vlmsel.profiling` -- profile a zoo on tasks into a :mod:`vlmsel.profile_store` (chapter 9)
- :mod:`vlmsel.profiles` -- per-image block scalars pooled into task profiles (chapter 4)
- :mod:`vlmsel.importance` -- block-importance distributions (softmax of eta times the z-scored profile; chapter 4)
- :mod:`vlmsel.divergence` -- the Directional Conductance Divergence and its symmetric ablations (chapter 5)
- :mod:`vlmsel.similarity` -- softmin over sources with gamma (chapter 5)
- :mod:`vlmsel.aggregation` -- model-specific rank aggregation (chapter 6)
- :mod:`vlmsel.selection` -- the above end to end for one target (``dcd_scores``) and for the harness


Judging and using it:

- :mod:`vlmsel.metrics`, :mod:`vlmsel.evaluation`, :mod:`vlmsel.baselines` -- leave-one-dataset-out (chapters 1, 6, 7)
- :mod:`vlmsel.recommend` -- select a model for your own images: :func:`vlmsel.select` (chapter 8)
- :mod:`vlmsel.profile_registry` -- published source profile stores (URL + sha256), downloaded and verified
- :mod:`vlmsel.report` -- a selection as one self-contained HTML report
- :mod:`vlmsel.mini` -- the mini world: tiny CLIP models trained here on generated tasks (chapter 10)
- :mod:`vlmsel.plotting`, :mod:`vlmsel.files`, :mod:`vlmsel.progress` -- figure style, atomic writes, progress bars
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``vlmsel.select`` is imported on first use (it pulls in torch and open_clip)."""
    if name == "select":
        from vlmsel.recommend import select

        return select
    raise AttributeError(f"module 'vlmsel' has no attribute {name!r}")
