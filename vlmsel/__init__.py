"""vlmsel: choose a vision-language model from a few unlabeled images.

The method is "Model Specific Task Similarity for Vision Language Model Selection via Layer
Conductance" (arXiv 2602.01346), specified in full in the book's chapters. Modules, each one idea:

- :mod:`vlmsel.groundtruth` -- the benchmark tables (LOVM, open_clip, SWAB) as DataFrames (chapter 1)
- :mod:`vlmsel.upstream` -- where those tables come from: pinned URLs, sha256, cache, download
- :mod:`vlmsel.files`, :mod:`vlmsel.progress` -- atomic writes and progress bars
"""

__version__ = "0.1.0"
