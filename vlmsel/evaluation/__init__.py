"""Evaluation: how well a selection method ranks the zoo, leave-one-dataset-out.

- :mod:`vlmsel.evaluation.metrics` -- R5, tau5, NDCG@k, Kendall tau-b, regret, bootstrap intervals, their labels
- :mod:`vlmsel.evaluation.harness` -- the leave-one-dataset-out protocol and its result tables
- :mod:`vlmsel.evaluation.baselines` -- INB, average rank, random, oracle similarity, modelGPT-lite
- :mod:`vlmsel.evaluation.dcd` -- the DCD method (fixed or nested hyperparameters) for the harness
- :mod:`vlmsel.evaluation.options` -- the methods' names (for the command line)
- :mod:`vlmsel.evaluation.methods` -- every method by name (:func:`~vlmsel.evaluation.methods.make_method`)
- :mod:`vlmsel.evaluation.published` -- numbers quoted from publications (the paper's claims, LOVM's anchors)

The protocol is defined on the method page, :ref:`method-protocol`.
"""
