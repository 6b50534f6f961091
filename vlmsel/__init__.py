"""vlmsel: choose a vision-language model from a few unlabeled images.

The method is "Model Specific Task Similarity for Vision Language Model Selection via Layer
Conductance" (arXiv 2602.01346), specified on the book's method page (:ref:`method`). The package is laid
out in the order the data flows; each subpackage is one stage:

- :mod:`vlmsel.data` -- ground-truth benchmarks, LOVM metadata, tasks and images, model zoos, zero-shot accuracy
- :mod:`vlmsel.conductance` -- every block's conductance in one pass
- :mod:`vlmsel.profiles` -- block scalars pooled into task profiles; the profile store; computing and publishing it
- :mod:`vlmsel.method` -- importance, DCD, softmin, aggregation: one scorer; diagnostics
- :mod:`vlmsel.evaluation` -- metrics, the leave-one-dataset-out harness, baselines, the DCD method
- :mod:`vlmsel.recommend` -- :func:`vlmsel.select` for your own images: sampling, stability, result, report
- :mod:`vlmsel.mini` -- the mini world, registered like any other world (:mod:`vlmsel.plugins`)
- :mod:`vlmsel.cli` -- the ``vlmsel`` command, a thin layer over the above

Shared by all: :mod:`vlmsel.files` (atomic writes, hashes, the cache), :mod:`vlmsel.progress` (progress
bars), :mod:`vlmsel.plotting` (the figure style), :mod:`vlmsel.chapters` (what the book's chapters share).

Imports sit at the top of every module, except torch, open_clip and captum where a module only needs
them to run a model: those are imported where they are used, so that parsing the command line and
reading tables stay fast; and except seaborn, an extra that only the book's figures use (``vlmsel select``
runs on the core dependencies alone: ``tests/test_plain_install.py``).
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``vlmsel.select`` is imported on first use (it pulls in torch and open_clip)."""
    if name == "select":
        from vlmsel.recommend.pipeline import select  # pulls in torch and open_clip

        return select
    raise AttributeError(f"module 'vlmsel' has no attribute {name!r}")
