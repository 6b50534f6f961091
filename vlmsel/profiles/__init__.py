"""Profiles: per-image block scalars of a (model, task) pair, stored, pooled and shared.

- :mod:`vlmsel.profiles.pooling` -- per-image block scalars pooled into task profiles (:class:`~vlmsel.profiles.pooling.Profiles`)
- :mod:`vlmsel.profiles.store` -- the profile store on disk: one entry per (model, dataset), with its manifest
- :mod:`vlmsel.profiles.compute` -- computing a store: a zoo profiled on tasks, resumable and atomic
- :mod:`vlmsel.profiles.registry` -- published stores (URL + sha256, or a world's own folder), fetched and verified

The method page defines a profile in :ref:`method-profile`.
"""
