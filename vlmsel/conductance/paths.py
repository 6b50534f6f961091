"""The straight-line path from a baseline image to the image: where it starts and where it is sampled.

Taught in the chapter :ref:`ch-conductance`. Conductance integrates along
``x(α) = x' + α (x - x')`` for ``α`` in ``[0, 1]``; the engine evaluates the network at ``n_steps + 1``
points ``α_0 < α_1 < ... < α_n`` and sums over the ``n_steps`` steps between consecutive points.

- :func:`path_alphas` gives the points, exactly as captum's ``LayerConductance`` chooses them
  (captum asks its approximation method for ``n_steps + 1`` alphas): ``"gausslegendre"`` gives the
  ``n_steps + 1`` Gauss-Legendre nodes mapped to ``(0, 1)`` (the ends 0 and 1 are *not* among them),
  ``"riemann_trapezoid"`` the uniform grid ``0, 1/n, ..., 1`` (computed, as captum does, with
  ``torch.linspace`` in float32 and converted to Python floats).
- :func:`make_baseline` gives ``x'``: ``"zeros"`` (the zero tensor in the model's normalised input space,
  i.e. the mean image; the default), ``"black"`` (an all-black image, normalised with the model's
  mean/std) or ``"blur"`` (the image itself under a strong Gaussian blur).
- :func:`path_points` builds the images ``x(α)`` for any list of (image, alpha) pairs, with the same
  arithmetic as captum (``x' + α (x - x')`` in the images' dtype), so both see identical inputs.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as nnf

from vlmsel.conductance.options import BASELINES, METHODS

__all__ = ["METHODS", "BASELINES", "path_alphas", "make_baseline", "gaussian_blur", "path_points"]


def path_alphas(method: str = "gausslegendre", n_steps: int = 50) -> list[float]:
    """The ``n_steps + 1`` path points ``α_0 < ... < α_n`` that captum's LayerConductance uses.

    Parameters
    ----------
    method : ``"gausslegendre"`` (default) or ``"riemann_trapezoid"``.
    n_steps : number of steps ``n >= 1`` between consecutive points.

    Returns
    -------
    list of ``n_steps + 1`` increasing Python floats in ``[0, 1]``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if not isinstance(n_steps, (int, np.integer)) or isinstance(n_steps, bool) or n_steps < 1:
        raise ValueError(f"n_steps must be an integer >= 1, got {n_steps!r}")
    n_points = int(n_steps) + 1
    if method == "gausslegendre":
        nodes = np.polynomial.legendre.leggauss(n_points)[0]
        return (0.5 * (1 + nodes)).tolist()
    return torch.linspace(0, 1, n_points).tolist()


def gaussian_blur(images: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur every channel of ``images`` (N, C, H, W) with a Gaussian of std ``sigma`` pixels.

    Separable convolution, reflect padding, kernel radius ``ceil(3 sigma)`` capped at ``min(H, W) - 1``;
    the kernel sums to one, so blurring commutes with the per-channel normalisation of the images.
    """
    if images.ndim != 4:
        raise ValueError(f"gaussian_blur expects images of shape (N, C, H, W), got {tuple(images.shape)}")
    if sigma <= 0:
        return images.clone()
    n, c, h, w = images.shape
    radius = min(int(math.ceil(3 * sigma)), h - 1, w - 1)
    if radius < 1:
        return images.clone()
    t = torch.arange(-radius, radius + 1, dtype=torch.float64)
    k = torch.exp(-0.5 * (t / sigma) ** 2)
    k = (k / k.sum()).to(images.dtype).to(images.device)
    x = images.reshape(n * c, 1, h, w)
    x = nnf.conv2d(nnf.pad(x, (radius, radius, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    x = nnf.conv2d(nnf.pad(x, (0, 0, radius, radius), mode="reflect"), k.view(1, 1, -1, 1))
    return x.reshape(n, c, h, w)


def _model_mean_std(model: torch.nn.Module | None) -> tuple[Sequence[float], Sequence[float]] | None:
    if model is None:
        return None
    for obj in (getattr(model, "visual", None), model):
        cfg = getattr(obj, "preprocess_cfg", None)
        if isinstance(cfg, dict) and "mean" in cfg and "std" in cfg:
            return cfg["mean"], cfg["std"]
        mean, std = getattr(obj, "image_mean", None), getattr(obj, "image_std", None)
        if mean is not None and std is not None:
            return mean, std
    return None


def make_baseline(
    images: torch.Tensor,
    baseline: str | torch.Tensor = "zeros",
    *,
    model: torch.nn.Module | None = None,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    blur_sigma: float | None = None,
) -> torch.Tensor:
    """The baseline images ``x'``, same shape, dtype and device as ``images``.

    Parameters
    ----------
    images : float tensor (N, 3, H, W), already normalised for the model.
    baseline : ``"zeros"`` (default; the mean image), ``"black"`` (pixel value 0 in [0, 1] space, i.e.
        ``-mean / std`` per channel), ``"blur"`` (each image blurred with a Gaussian of std
        ``blur_sigma``), or a tensor broadcastable to ``images`` (used as given).
    model : where ``"black"`` finds the normalisation (open_clip sets ``model.visual.preprocess_cfg``).
    mean, std : per-channel normalisation for ``"black"`` (override the model's).
    blur_sigma : std of the blur in pixels for ``"blur"``; default ``min(H, W) / 16`` (14 px at 224 px).

    Returns
    -------
    Tensor (N, 3, H, W).
    """
    if isinstance(baseline, torch.Tensor):
        try:
            out = torch.broadcast_to(baseline.to(device=images.device, dtype=images.dtype), images.shape)
        except RuntimeError as err:
            raise ValueError(
                f"baseline tensor of shape {tuple(baseline.shape)} does not broadcast to the images' shape "
                f"{tuple(images.shape)}"
            ) from err
        return out.clone()
    if baseline == "zeros":
        return torch.zeros_like(images)
    if baseline == "black":
        if mean is None or std is None:
            found = _model_mean_std(model)
            if found is None:
                raise ValueError(
                    'baseline="black" needs the model\'s normalisation: pass mean= and std=, or a model '
                    "with visual.preprocess_cfg (open_clip models have one)"
                )
            mean = mean if mean is not None else found[0]
            std = std if std is not None else found[1]
        m = torch.as_tensor(mean, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
        s = torch.as_tensor(std, dtype=images.dtype, device=images.device).view(1, -1, 1, 1)
        if m.shape[1] != images.shape[1] or s.shape[1] != images.shape[1]:
            raise ValueError(f"mean/std have {m.shape[1]}/{s.shape[1]} channels, images have {images.shape[1]}")
        return torch.broadcast_to(-m / s, images.shape).clone()
    if baseline == "blur":
        sigma = blur_sigma if blur_sigma is not None else min(images.shape[-2:]) / 16
        return gaussian_blur(images, float(sigma))
    raise ValueError(f"baseline must be one of {BASELINES} or a tensor, got {baseline!r}")


def path_points(
    images: torch.Tensor,
    baselines: torch.Tensor,
    image_index: torch.Tensor,
    alphas: torch.Tensor,
) -> torch.Tensor:
    """The path images ``x'_i + α (x_i - x'_i)`` for pairs ``(i, α)``.

    Parameters
    ----------
    images, baselines : (N, C, H, W).
    image_index : (B,) long, which image each point belongs to.
    alphas : (B,) the point's α, in the images' dtype.

    Returns
    -------
    Tensor (B, C, H, W): elementwise ``baseline + alpha * (image - baseline)``, the expression captum
    evaluates (so the same alphas give bit-identical path images).
    """
    b = baselines[image_index]
    return b + alphas.view(-1, *([1] * (images.ndim - 1))) * (images[image_index] - b)
