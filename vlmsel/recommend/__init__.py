"""Recommend a model for your own images: :func:`vlmsel.select` and what it returns.

- :mod:`vlmsel.recommend.options` -- the defaults the command line shows (stability threshold, images, resamples)
- :mod:`vlmsel.recommend.target` -- your images: reading, sampling, and the cache of their profiles
- :mod:`vlmsel.recommend.pipeline` -- :func:`~vlmsel.recommend.pipeline.select`, a short sequence of named steps
- :mod:`vlmsel.recommend.stability` -- bootstrap over your images, top-k probabilities, images needed, Pareto front
- :mod:`vlmsel.recommend.result` -- :class:`~vlmsel.recommend.result.SelectionResult`: ranking, explanations, JSON
- :mod:`vlmsel.recommend.figures` -- the result's figures, on the book's style
- :mod:`vlmsel.recommend.report` -- the result as one self-contained HTML file

Taught in the chapter "Selecting a model for your own images" (:ref:`ch-select`).
"""
