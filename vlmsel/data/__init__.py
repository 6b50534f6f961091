"""Data: everything the method reads before it computes anything.

- :mod:`vlmsel.data.upstream` -- where the public ground-truth files come from: pinned URLs, sha256, cache
- :mod:`vlmsel.data.lovm` -- LOVM's dataset metadata: class names, templates, image domains, task types
- :mod:`vlmsel.data.benchmarks` -- the ground-truth tables as :class:`~vlmsel.data.benchmarks.Benchmark` objects
- :mod:`vlmsel.data.images` -- reading one image file safely (EXIF, 16-bit, CMYK, palette, bombs)
- :mod:`vlmsel.data.tasks` -- tasks (LOVM datasets, folders, webdatasets) and reproducible image samples
- :mod:`vlmsel.data.zoo` -- model zoos and loading each model right (QuickGELU, precision, random init)
- :mod:`vlmsel.data.zeroshot` -- zero-shot accuracy, to add a model or a dataset to a benchmark
"""

#: Precisions a model can be loaded and run in (open_clip's names; :func:`vlmsel.data.zoo.load_model`).
#: Here, not in :mod:`vlmsel.data.zoo`, so that the command line parses its choices without pandas.
PRECISIONS: tuple[str, ...] = ("fp32", "fp16", "bf16", "pure_fp16", "pure_bf16", "amp", "amp_bf16")
