"""The scalar ``F(x)`` whose change along the path conductance distributes over the neurons of a block.

Taught in the chapter :ref:`ch-conductance` (the label-free norm) and the chapter :ref:`ch-clip-encoder` (why the norm, and the task-aware alternative). An objective is any callable
``objective(embedding) -> values`` mapping the unnormalised image embeddings
``f(x) = model.encode_image(x, normalize=False)`` of shape (B, E) to one value per image, shape (B,).

- :func:`embedding_norm` -- ``F(x) = ||f(x)||_2``, the default (:ref:`method-objective`) (it ignores the task's classes,
  so a profile depends only on the task's images).
- :func:`zs_max_logit` -- the largest zero-shot logit of the image against a task's class prompts,
  ``F(x) = scale * max_c <f(x)/||f(x)||, w_c>`` (still label-free, but task-aware); ``w`` is a zero-shot
  classifier, e.g. from ``vlmsel.data.zeroshot.zero_shot_classifier`` (embed_dim, C).
"""

from __future__ import annotations

from typing import Callable

import torch

__all__ = ["Objective", "embedding_norm", "zs_max_logit", "resolve_objective", "objective_name"]

Objective = Callable[[torch.Tensor], torch.Tensor]


def embedding_norm(embedding: torch.Tensor) -> torch.Tensor:
    """``||f(x)||_2`` per image: (B, E) -> (B,). Computed in at least float32."""
    if embedding.ndim != 2:
        raise ValueError(f"embedding_norm expects embeddings of shape (B, E), got {tuple(embedding.shape)}")
    e = embedding if embedding.dtype in (torch.float32, torch.float64) else embedding.float()
    return torch.linalg.vector_norm(e, ord=2, dim=-1)


def zs_max_logit(classifier: torch.Tensor, logit_scale: float = 100.0) -> Objective:
    """Objective: the largest zero-shot logit of each image over a task's classes.

    Parameters
    ----------
    classifier : (E, C) zero-shot weights (one normalised text embedding per class, as columns).
    logit_scale : multiplier of the cosine similarities (CLIP's trained scale is 100).

    Returns
    -------
    callable (B, E) -> (B,): ``logit_scale * max_c cos(f(x), classifier[:, c])``.
    """
    if classifier.ndim != 2:
        raise ValueError(f"classifier must have shape (embed_dim, n_classes), got {tuple(classifier.shape)}")
    w = classifier.detach()

    def objective(embedding: torch.Tensor) -> torch.Tensor:
        e = embedding if embedding.dtype in (torch.float32, torch.float64) else embedding.float()
        if e.shape[-1] != w.shape[0]:
            raise ValueError(f"embedding width {e.shape[-1]} != classifier rows {w.shape[0]}")
        e = e / torch.linalg.vector_norm(e, dim=-1, keepdim=True)
        return logit_scale * (e @ w.to(e.dtype).to(e.device)).amax(dim=-1)

    objective.__name__ = "zs_max_logit"
    return objective


def resolve_objective(objective: Objective | str | None) -> Objective:
    """``None`` or ``"norm"`` -> :func:`embedding_norm`; a callable is returned unchanged."""
    if objective is None or objective == "norm":
        return embedding_norm
    if callable(objective):
        return objective
    if objective == "zs_max_logit":
        raise ValueError(
            'objective="zs_max_logit" needs the task\'s zero-shot classifier: pass '
            "objective=vlmsel.conductance.zs_max_logit(classifier)"
        )
    raise ValueError(f"objective must be None, 'norm' or a callable (embedding) -> (B,), got {objective!r}")


def objective_name(objective: Objective | str | None) -> str:
    """A short name for manifests: ``"norm"`` for the default, else the callable's ``__name__``."""
    if objective is None or objective == "norm" or objective is embedding_norm:
        return "norm"
    return getattr(objective, "__name__", type(objective).__name__)
