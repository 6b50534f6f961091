"""Your images: reading and sampling them, and the cache of their profiles.

:func:`target_sample` reads a folder (recursively) or a list of files and draws up to ``n_images``
(default 25) with a fixed seed, through :func:`vlmsel.data.tasks.sample` and :mod:`vlmsel.data.images`
(EXIF orientation applied; grayscale, palette, 16-bit, CMYK made RGB). Files whose extension is not an
image's are skipped and listed; a file that should be an image but cannot be decoded is an error
naming it, unless ``skip_bad=True``; fewer than 2 usable images is an error.

The profiles of your images are cached in a small profile store under ``work_dir`` (default
``cache_dir("targets")``, :func:`vlmsel.files.cache_dir`), one folder per image set and settings
(:func:`target_key`: a hash of the images' sha256 and the settings), so a rerun recomputes nothing.

Taught in the chapter "Selecting a model for your own images" (:ref:`ch-select`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Sequence

from PIL import Image

from vlmsel.data.images import is_image_name, load_image
from vlmsel.data.tasks import FolderSource, Sample, Task, sample
from vlmsel.files import atomic_write
from vlmsel.recommend.options import DEFAULT_N_IMAGES

#: Dataset name of the target inside its cache store.
TARGET = "target"


class FileListSource:
    """An image source (:class:`vlmsel.data.tasks.ImageSource`) over an explicit list of files.

    Ids are the paths as given. Names without an image extension are kept aside in ``non_images``.
    """

    def __init__(self, paths: Iterable[str | os.PathLike]):
        files = [str(p) for p in paths]
        if not files:
            raise ValueError("the list of images is empty")
        dup = sorted({f for f in files if files.count(f) > 1})
        if dup:
            raise ValueError(f"images listed more than once: {dup[:5]}")
        self.non_images = [f for f in files if not is_image_name(f)]
        self._ids = [f for f in files if is_image_name(f)]
        self.description = f"{len(files)} listed files"

    def ids(self) -> list[str]:
        return list(self._ids)

    def read(self, image_id: str) -> tuple[Image.Image, str, Any]:
        img = load_image(image_id)
        return img, hashlib.sha256(Path(image_id).read_bytes()).hexdigest(), None


def _open_images(images: str | os.PathLike | Sequence[str | os.PathLike]) -> Task:
    if isinstance(images, (str, os.PathLike)):
        path = Path(images)
        if path.is_dir():
            # skip_bad=True here only keeps non-image *names* aside (listed, never an error); whether an
            # unreadable image is an error is decided when the images are read (target_sample's skip_bad).
            return Task(TARGET, FolderSource(path, skip_bad=True))
        if path.exists():
            raise ValueError(f"{path} is a file: give a folder of images or a list of image files")
        raise FileNotFoundError(f"image folder {path} does not exist")
    return Task(TARGET, FileListSource(images))


def target_sample(
    images: str | os.PathLike | Sequence[str | os.PathLike],
    n_images: int = DEFAULT_N_IMAGES,
    seed: int = 0,
    *,
    skip_bad: bool = False,
) -> Sample:
    """Read up to ``n_images`` of your images, reproducibly.

    The image files are put in a fixed order (sorted relative paths for a folder, the given order for a
    list) and shuffled by ``numpy.random.default_rng(seed)``; the first ``n_images`` readable ones are
    the sample (all of them when there are fewer): :func:`vlmsel.data.tasks.sample` with ``min_n=2``, so
    fewer images than asked is allowed (down to 2).

    Parameters
    ----------
    images : a folder (read recursively, hidden files ignored) or a list of image file paths.
    n_images : how many images to use at most (default 25, the paper's N).
    seed : sampling seed (default 0).
    skip_bad : skip images that cannot be decoded (listed in ``Sample.skipped``) instead of raising.

    Returns
    -------
    Sample with ``ids`` (relative paths, or the paths as given), ``sha256`` of the file bytes, the RGB
    ``images`` and ``skipped`` = ``(file, reason)`` for every non-image file and (with ``skip_bad``)
    every unreadable image.

    Raises
    ------
    ImageReadError : an image cannot be decoded (the message names the file) and ``skip_bad`` is False.
    ValueError : fewer than 2 usable images.
    """
    if n_images < 2:
        raise ValueError(f"n_images must be at least 2 (a profile needs several images); got {n_images}")
    drawn = sample(_open_images(images), n_images, seed, skip_bad=skip_bad, min_n=2)
    return dataclasses.replace(drawn, labels=None)


def target_key(sample_: Sample, settings: dict[str, Any]) -> str:
    """Cache key of a target: sha256 (first 16 hex digits) of its images (ids and sha256, in order) and settings."""
    payload = json.dumps({"images": list(zip(sample_.ids, sample_.sha256)), "settings": settings}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class ListedSample:
    """The image source of an already drawn sample (``profile_one`` reads the sample, not the source)."""

    def __init__(self, sample_: Sample):
        self.description = sample_.source

    def ids(self) -> list[str]:  # pragma: no cover - not used by profile_one
        return []

    def read(self, image_id: str):  # pragma: no cover
        raise KeyError(image_id)


def write_images_json(folder: Path, sample_: Sample) -> None:
    """Record which images a target cache folder holds (``images.json``; written once)."""
    path = folder / "images.json"
    if path.exists():
        return
    with atomic_write(path, "w") as fh:
        json.dump(
            {
                "source": sample_.source,
                "seed": sample_.seed,
                "ids": sample_.ids,
                "sha256": sample_.sha256,
                "skipped": [list(s) for s in sample_.skipped],
            },
            fh,
            indent=1,
        )
