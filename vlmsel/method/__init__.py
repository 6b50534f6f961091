"""The method: from task profiles to a predicted ranking of the zoo, one step per module.

- :mod:`vlmsel.method.options` -- :class:`~vlmsel.method.options.MethodOptions`: every option of the steps below, with its names and default, in one place
- :mod:`vlmsel.method.importance` -- block-importance distributions (:ref:`method-importance`)
- :mod:`vlmsel.method.divergence` -- the Directional Conductance Divergence and its ablations (:ref:`method-dcd`)
- :mod:`vlmsel.method.similarity` -- softmin weights over the source tasks (:ref:`method-similarity`)
- :mod:`vlmsel.method.aggregation` -- source utilities and the weighted aggregation (:ref:`method-aggregation`)
- :mod:`vlmsel.method.scoring` -- all of it end to end: :func:`~vlmsel.method.scoring.dcd_scores` and the
  vectorised :class:`~vlmsel.method.scoring.TargetScorer` (used by evaluation and by selection alike)
- :mod:`vlmsel.method.diagnostics` -- is there a signal: split-half null, effective numbers of blocks and of sources

Nothing here reads files or imports the evaluation harness: the method is plain arrays in, arrays out.
"""
