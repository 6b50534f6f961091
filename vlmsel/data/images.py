"""Reading image files as the RGB images a CLIP model expects.

Every image that enters vlmsel goes through :func:`to_rgb`, which turns whatever PIL opened into an
8-bit RGB image the way a person would expect to see it:

- the EXIF orientation tag is applied (a phone photo stored sideways comes out upright);
- grayscale (``L``, ``1``), palette (``P``), ``LA``/``RGBA`` (alpha dropped, as open_clip's and
  CLIP_benchmark's ``convert("RGB")`` do), ``CMYK`` and ``YCbCr`` are converted to RGB;
- 16-bit (``I;16*``) and 32-bit integer (``I``) images are scaled to 8 bits (divided by 257 when the
  values fit 16 bits, so 65535 becomes 255; PIL's own conversion would clip everything above 255 to
  white); float (``F``) images in [0, 1] are scaled by 255, otherwise clipped to [0, 255].

A file that is not a readable image raises :class:`ImageReadError` naming the file.

Used by :mod:`vlmsel.data.tasks` (folders of your own images, :ref:`ch-select`; the real datasets, :ref:`ch-paper-scale`).
"""

from __future__ import annotations

import warnings

import os
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError


class LargeImageWarning(UserWarning):
    """An image above PIL's decompression-bomb threshold (read anyway, named in the message)."""


class ImageReadError(ValueError):
    """A file could not be read as an image; the message names the file and the reason."""


#: File extensions PIL can open (lower case, with the dot).
IMAGE_EXTENSIONS: frozenset[str] = frozenset(ext.lower() for ext in Image.registered_extensions())


def is_image_name(path: str | os.PathLike) -> bool:
    """Whether the file name has an image extension PIL knows (``.jpg``, ``.png``, ``.tif``, ...)."""
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS


def _high_bit_depth_to_8bit(img: Image.Image) -> Image.Image:
    arr = np.asarray(img)
    if img.mode == "F":
        arr = arr.astype(np.float64)
        finite = arr[np.isfinite(arr)]
        if finite.size and finite.min() >= 0.0 and finite.max() <= 1.0:
            arr = arr * 255.0
        arr = np.clip(np.nan_to_num(arr), 0, 255)
        return Image.fromarray(np.round(arr).astype(np.uint8), mode="L")
    arr = arr.astype(np.int64)
    if arr.size and arr.max() > 255:
        if arr.min() >= 0 and arr.max() <= 65535:
            arr = arr / 257.0
        else:  # wider than 16 bits: stretch the range
            lo, hi = arr.min(), arr.max()
            arr = (arr - lo) * (255.0 / max(hi - lo, 1))
    arr = np.clip(np.round(arr), 0, 255).astype(np.uint8)
    return Image.fromarray(arr, mode="L")


def to_rgb(img: Image.Image) -> Image.Image:
    """An 8-bit RGB copy of ``img`` with its EXIF orientation applied (see the module docstring)."""
    img = ImageOps.exif_transpose(img)
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        img = _high_bit_depth_to_8bit(img)
    elif mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")  # PIL asks for this route; the alpha is then dropped
    if img.mode != "RGB":
        img = img.convert("RGB")
    return img


def load_image(path: str | os.PathLike) -> Image.Image:
    """Read an image file as 8-bit RGB (:func:`to_rgb`), fully decoded.

    Raises
    ------
    ImageReadError : the file is missing, is not an image, or is corrupt or truncated; the message
        names the file.
    """
    path = Path(path)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", Image.DecompressionBombWarning)
            with Image.open(path) as img:
                img.load()
                out = to_rgb(img)
        if any(issubclass(w.category, Image.DecompressionBombWarning) for w in caught):
            warnings.warn(f"{path}: a very large image ({img.size[0]} x {img.size[1]} pixels); decoding it needs "
                          "much memory (it is resized to the model's input like any other)", LargeImageWarning,
                          stacklevel=2)
        return out
    except FileNotFoundError as err:
        raise ImageReadError(f"{path}: file not found") from err
    except UnidentifiedImageError as err:
        raise ImageReadError(f"{path}: not an image file (PIL cannot identify it)") from err
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ImageReadError(f"{path}: corrupt or unreadable image ({type(err).__name__}: {err})") from err


def image_from_bytes(data: bytes, name: str) -> Image.Image:
    """Like :func:`load_image` for an image held in memory (``name`` is used in error messages)."""
    import io

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            return to_rgb(img)
    except UnidentifiedImageError as err:
        raise ImageReadError(f"{name}: not an image (PIL cannot identify it)") from err
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise ImageReadError(f"{name}: corrupt or unreadable image ({type(err).__name__}: {err})") from err



#: Names of the seven coordinates returned by :func:`pixel_features`, in order.
PIXEL_FEATURES: tuple[str, ...] = ("mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "grey_gradient")
#: Side of the square thumbnail :func:`pixel_features` computes its statistics on.
PIXEL_SIDE = 32


def pixel_features(image: Image.Image) -> np.ndarray:
    """Seven model-agnostic pixel statistics of one image (:data:`PIXEL_FEATURES`).

    The image is converted to RGB and resized to 32x32 with PIL's bilinear filter
    (``Image.resize((32, 32), Image.Resampling.BILINEAR, reducing_gap=None)``; for downscaling, PIL's
    bilinear resize widens its support to the scale factor, i.e. it antialiases, which is resize's default
    behaviour), and scaled to ``[0, 1]`` (divided by 255). They give every model the same task similarity:
    the control ``pixel_mmd`` (:mod:`vlmsel.evaluation.signals`).

    Parameters
    ----------
    image : a PIL image, any mode.

    Returns
    -------
    array (7,) of float64: the 3 channel means, the 3 channel population standard deviations, and the mean
    absolute finite-difference gradient of the grey image (grey = mean of the three channels): the mean of
    the ``31 * 32`` horizontal differences ``|g[i, j+1] - g[i, j]|`` and the ``31 * 32`` vertical differences
    ``|g[i+1, j] - g[i, j]|`` pooled together.
    """
    if not isinstance(image, Image.Image):
        raise ValueError(f"pixel_features needs a PIL image, got {type(image).__name__}")
    if image.width < 1 or image.height < 1:
        raise ValueError(f"the image is empty (size {image.size})")
    small = image.convert("RGB").resize((PIXEL_SIDE, PIXEL_SIDE), Image.Resampling.BILINEAR, reducing_gap=None)
    # statistics of the 0..255 integers, scaled by 1/255 at the end (the same values; a constant channel then
    # has a standard deviation of exactly 0, as 32 * 32 integers sum and average without rounding)
    px = np.asarray(small, dtype=np.float64)  # (32, 32, 3)
    grey = px.mean(axis=2)
    diffs = np.concatenate([np.abs(np.diff(grey, axis=1)).ravel(), np.abs(np.diff(grey, axis=0)).ravel()])
    return np.concatenate([px.mean(axis=(0, 1)), px.std(axis=(0, 1)), [diffs.mean()]]) / 255.0
