"""Learnability probes shared by the domain tests: simple features of a picture and a held-out score.

Each test states which features it reads and the scores measured with them; the features here are the
ones those measurements were made with, so a test's thresholds keep their meaning.
"""

from __future__ import annotations

import functools
import itertools

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits


def pixels16(img: np.ndarray, grey: bool = False) -> np.ndarray:
    """The picture box-averaged to 16 x 16 (RGB, or its first channel when ``grey``), in [0, 1], flat."""
    src = img[..., 0] if grey else img
    return np.asarray(Image.fromarray(src).resize((16, 16), Image.BOX), dtype=np.float32).ravel() / 255.0


def edges16(img: np.ndarray) -> np.ndarray:
    """16 x 16 edge magnitudes of the 32 x 32 grey picture, scaled per picture: blind to polarity, so
    dark-on-light and light-on-dark glyphs share one linear read-out."""
    g = np.asarray(Image.fromarray(img).convert("L").resize((32, 32), Image.BOX), np.float32) / 255.0
    e = np.abs(np.diff(g, axis=1, append=g[:, -1:])) + np.abs(np.diff(g, axis=0, append=g[-1:]))
    e = e.reshape(16, 2, 16, 2).mean(axis=(1, 3))
    return (e / (e.std() + 1e-6)).ravel()


@functools.lru_cache(maxsize=2)
def _relu_filters(channels: int) -> np.ndarray:
    w = np.random.default_rng(0).standard_normal((5 * 5 * channels, 96)).astype(np.float32)
    w -= w.mean(0)
    w /= np.linalg.norm(w, axis=0)
    return w


def random_relu_conv32(img: np.ndarray, grey: bool = False) -> np.ndarray:
    """A small random-feature classifier's input: 96 random 5 x 5 filters on the 32 px picture (RGB, or its
    first channel when ``grey``), patches centred, ReLU, then mean and max pooling (translation invariant,
    which raw pixels are not)."""
    src = img[..., 0] if grey else img
    x = np.asarray(Image.fromarray(src).resize((32, 32), Image.BOX), dtype=np.float32) / 255.0
    window = (5, 5) if grey else (5, 5, 3)
    patches = sliding_window_view(x, window).reshape(-1, 25 if grey else 75)
    r = np.maximum((patches - patches.mean(1, keepdims=True)) @ _relu_filters(1 if grey else 3), 0.0)
    return np.concatenate([r.mean(0), r.max(0)])


def random_abs_conv(x32: np.ndarray) -> np.ndarray:
    """Pictures (n, 32, 32, 3) in [0, 1] -> (n, 32): 32 random zero-mean 5 x 5 filters (blind to the local
    brightness), the absolute responses averaged over the picture."""
    n = len(x32)
    filters = np.random.default_rng(1).standard_normal((32, 5, 5, 3)).astype(np.float32)
    filters -= filters.mean(axis=(1, 2, 3), keepdims=True)
    response = np.zeros((n, 28, 28, 32), np.float32)
    for i, j in itertools.product(range(5), range(5)):
        response += x32[:, i : i + 28, j : j + 28, :] @ filters[:, i, j, :].T
    return np.abs(response).mean(axis=(1, 2))


def heldout_score(
    x: np.ndarray, y: np.ndarray, n_train: int, C: float = 1.0, max_iter: int = 2000, scale: bool = True
) -> float:
    """Held-out accuracy of a logistic regression fitted on the first ``n_train`` rows (features
    standardised unless ``scale=False``), with one BLAS thread: threaded BLAS on a shared 2-core machine
    makes these small fits 5-20x slower."""
    with threadpool_limits(1):
        lr = LogisticRegression(C=C, max_iter=max_iter)
        clf = make_pipeline(StandardScaler(), lr) if scale else lr
        clf.fit(x[:n_train], y[:n_train])
        return float(clf.score(x[n_train:], y[n_train:]))


def check_captions(domain, kinds: set[str], n: int = 400) -> None:
    """Captions use only the domain's words, always say what kind of picture it is (a word of ``kinds``)
    and name exactly the values of the attributes asked for."""
    rng = np.random.default_rng(0)
    vocab = set(domain.words)
    for _ in range(n):
        attrs = domain.sample(rng)
        named = [a for a in attrs if rng.random() < 0.5]
        cap = domain.caption(attrs, named, rng)
        words = cap.split()
        assert set(words) <= vocab, cap
        assert kinds & set(words), cap
        for attr, values in domain.attributes.items():
            mentioned = [v for v in values if v in words]
            assert mentioned == ([attrs[attr]] if attr in named else []), (cap, named)


def check_values_differ(domain, attr: str, threshold: float, n_seeds: int) -> None:
    """With everything else fixed (one sample and one seed), every two values of ``attr`` give pictures
    whose mean absolute difference exceeds ``threshold`` grey levels, for seeds ``0 .. n_seeds - 1``."""
    for seed in range(n_seeds):
        base = domain.sample(np.random.default_rng(seed))
        imgs = {v: domain.render(domain.vary(base, attr, v), seed).astype(np.float32) for v in domain.attributes[attr]}
        for a, b in itertools.combinations(imgs, 2):
            assert np.abs(imgs[a] - imgs[b]).mean() > threshold, (seed, a, b)
