"""Data: everything the method reads before it computes anything.

- :mod:`vlmsel.data.upstream` -- where the public ground-truth files come from: pinned URLs, sha256, cache
- :mod:`vlmsel.data.lovm` -- LOVM's dataset metadata: class names, templates, image domains, task types
- :mod:`vlmsel.data.benchmarks` -- the ground-truth tables as :class:`~vlmsel.data.benchmarks.Benchmark` objects
- :mod:`vlmsel.data.images` -- reading one image file safely (EXIF, 16-bit, CMYK, palette, bombs)
- :mod:`vlmsel.data.tasks` -- tasks (LOVM datasets, folders, webdatasets) and reproducible image samples
- :mod:`vlmsel.data.zoo` -- model zoos and loading each model right (QuickGELU, precision, random init)
- :mod:`vlmsel.data.zeroshot` -- zero-shot accuracy, to add a model or a dataset to a benchmark
"""
