"""Microscopy: PCam-like H&E histology patches and stained blood smears.

Two sub-styles (``style``). A *histology* patch imitates PatchCamelyon: a small field of an H&E
stained section, pink eosin stroma with wavy collagen fibres, pale lumens and fat, and purple
hematoxylin nuclei; ``tissue`` is *normal* (sparse, small, round, uniform nuclei lined up along
glands or in rows) or *tumour* (crowded, larger, irregular, darker nuclei of varied size). A
*smear* imitates a white-blood-cell crop of a peripheral blood smear: pale background, many
overlapping red cells with central pallor, and one white cell near the centre whose nucleus and
cytoplasm decide ``cell``: a *neutrophil* (3-5 connected lobes, pale granular cytoplasm), a
*lymphocyte* (a small cell almost filled by a round dark nucleus), a *monocyte* (a large cell, a
folded kidney-shaped nucleus, grey-blue cytoplasm) or an *eosinophil* (a bilobed nucleus among
orange-red granules). Colours follow the Beer-Lambert law of stained slides (optical densities of
stains add), and what varies, drawn from the seed alone so that two pictures differing in one
attribute share everything else, is the stain (hue, saturation and strength of each dye), the
illumination, the layout of cells and fibres, blur and sensor noise; in histology the stain varies
enough that the overall colour and darkness of normal and tumour patches overlap.

Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Mapping, NamedTuple, Sequence

import numpy as np
from PIL import Image, ImageDraw

from vlmsel.mini.domains.base import (
    CARRIERS,
    IMAGE_SIZE,
    Domain,
    article,
    check_split,
    to_uint8,
    vocabulary,
    with_carrier,
)

STYLES = ("histology", "smear")
TISSUES = ("normal", "tumour")
CELLS = ("neutrophil", "lymphocyte", "monocyte", "eosinophil")

_SS = 2  # supersampling of the drawn masks
_BIG = IMAGE_SIZE * _SS
_N = IMAGE_SIZE


# ----------------------------------------------------------------------------------------------
# smooth noise and blur at 64 px (small matrix products, one channel at a time)


@lru_cache(maxsize=None)
def _upsampler(n: int, size: int = IMAGE_SIZE) -> np.ndarray:
    """(size, n) smooth interpolation weights from an n-point grid to ``size`` pixel centres."""
    u = np.clip((np.arange(size) + 0.5) / size * n - 0.5, 0, n - 1)
    i0 = np.minimum(np.floor(u).astype(int), n - 2)
    f = u - i0
    f = f * f * (3 - 2 * f)
    m = np.zeros((size, n), np.float32)
    m[np.arange(size), i0] += 1 - f
    m[np.arange(size), i0 + 1] += f
    return m


@lru_cache(maxsize=256)
def _blur_matrix(sigma: float, size: int = IMAGE_SIZE) -> np.ndarray:
    i = np.arange(size)
    k = np.exp(-0.5 * ((i[:, None] - i[None, :]) / sigma) ** 2)
    return (k / k.sum(axis=1, keepdims=True)).astype(np.float32)


def _gauss(img: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of a (64, 64) or (64, 64, C) float image (per-channel matrix products, which
    stay below OpenBLAS's threading threshold: threaded products this small are slow on a busy machine)."""
    if sigma <= 0.05:
        return img
    g = _blur_matrix(round(float(sigma), 2))
    if img.ndim == 2:
        return g @ img @ g.T
    return np.stack([g @ img[:, :, c] @ g.T for c in range(img.shape[2])], axis=2)


def _mask(draw_fn) -> np.ndarray:
    """An L mask drawn by ``draw_fn(ImageDraw)`` at 2x, returned at 64 px in [0, 1]."""
    im = Image.new("L", (_BIG, _BIG), 0)
    draw_fn(ImageDraw.Draw(im))
    return np.asarray(im.resize((_N, _N), Image.Resampling.BOX), dtype=np.float32) * np.float32(1 / 255)


_X, _Y = np.meshgrid(np.arange(_N, dtype=np.float32) + 0.5, np.arange(_N, dtype=np.float32) + 0.5)


def _jitter_vec(vec, rng: np.random.Generator, sd: float) -> np.ndarray:
    return (np.asarray(vec, np.float32) * np.exp(rng.normal(0, sd, 3))).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# histology


_H_VEC = (0.95, 1.05, 0.42)  # optical density of hematoxylin per unit (natural log): purple-blue
_E_VEC = (0.16, 0.85, 0.40)  # eosin: pink
_POOL = 90  # nuclei drawn from one pool of random shapes, whatever the tissue
_VERTS = 10


def _nuclei_polygons(
    xy: np.ndarray, radius: np.ndarray, aspect: np.ndarray, rot: np.ndarray, wobble: np.ndarray
) -> np.ndarray:
    """(n, _VERTS, 2) polygon vertices at 2x of nuclei with these centres (64 px) and shapes."""
    t = np.linspace(0, 2 * np.pi, _VERTS, endpoint=False)[None, :]
    r = radius[:, None] * (1 + wobble)
    px = r * np.cos(t) * np.sqrt(aspect[:, None])  # elongated, same area
    py = r * np.sin(t) / np.sqrt(aspect[:, None])
    c, s = np.cos(rot)[:, None], np.sin(rot)[:, None]
    x = xy[:, 0:1] + c * px - s * py
    y = xy[:, 1:2] + s * px + c * py
    return np.stack([x, y], axis=2) * _SS


class _HistologyDraws:
    """Every random number of one histology patch, drawn in a fixed order whatever the tissue."""

    def __init__(self, rng: np.random.Generator):
        # the stains, the light and the camera's exposure
        self.h_vec = _jitter_vec(_H_VEC, rng, 0.18)
        self.e_vec = _jitter_vec(_E_VEC, rng, 0.2)
        self.h_int = float(np.exp(rng.uniform(np.log(0.55), np.log(1.5))))
        self.e_int = float(np.exp(rng.uniform(np.log(0.4), np.log(1.6))))
        self.counter = float(rng.uniform(0.0, 0.8))  # hematoxylin taken up by the stroma
        self.light = (rng.uniform(0.88, 1.0) + rng.normal(0, 0.02, 3)).astype(np.float32)
        self.exposure = float(rng.uniform(0.2, 0.75))  # strength of the camera's auto exposure / white balance
        self.target = (np.array([0.78, 0.6, 0.76]) + rng.normal(0, 0.06, 3)).astype(np.float32)
        # the stroma: collagen fibres, smooth density, white spaces, the nuclei's chromatin
        self.fibre_angle = float(rng.uniform(0, np.pi))
        self.n_fibres = int(rng.integers(14, 30))
        self.fibre_pts = rng.uniform(-0.2, 1.2, (self.n_fibres, 2)) * _BIG
        self.fibre_len = rng.uniform(0.3, 0.9, self.n_fibres) * _BIG
        self.fibre_wave = rng.normal(0, 0.25, (self.n_fibres, 7))
        self.fibre_width = rng.integers(1, 5, self.n_fibres)
        self.fibre_val = rng.integers(70, 200, self.n_fibres)
        self.stroma_grid = rng.standard_normal((6, 6)).astype(np.float32)
        self.fine_grid = rng.standard_normal((24, 24)).astype(np.float32)
        self.space_grid = rng.standard_normal((5, 5)).astype(np.float32)
        self.space_fine = rng.standard_normal((13, 13)).astype(np.float32)
        self.space_amount = float(rng.uniform(-2.4, 0.8))  # how much white space (fat, lumen, tears)
        self.chromatin = rng.standard_normal((_N, _N)).astype(np.float32)
        # one pool of random nuclear shapes and placements, used by either tissue
        self.pool_size = rng.random(_POOL)
        self.pool_aspect = rng.random(_POOL)
        self.pool_rot = rng.uniform(0, np.pi, _POOL)
        self.pool_dark = rng.random(_POOL)
        self.pool_wobble = rng.standard_normal((_POOL, _VERTS))
        self.pool_uv = rng.random((_POOL, 2))
        self.pool_dist = rng.random(_POOL)
        self.pool_jit = rng.normal(0, 1, (_POOL, 2))
        # the normal layout: glands or rows of cells, and a few stromal cells
        self.rows_layout = rng.random() < 0.35
        self.n_glands = int(rng.integers(1, 4))
        self.glands = rng.random((3, 5))  # centre x, y, size, elongation, angle
        self.n_rows = int(rng.integers(2, 5))
        self.row_phase = rng.random(5)
        self.n_stromal = int(rng.integers(6, 14))
        # the tumour layout: clusters and sheets
        self.n_clusters = int(rng.integers(1, 4))
        self.clusters = rng.random((3, 3))
        self.n_tumour = int(rng.integers(32, 56))
        # the camera
        self.blur_sigma = float(rng.uniform(0.3, 1.1))
        self.noise_sd = float(rng.uniform(0.008, 0.03))
        self.noise = rng.standard_normal((_N, _N, 3)).astype(np.float32)

    @property
    def along(self) -> np.ndarray:
        """Unit vector along the fibres."""
        return np.array([np.cos(self.fibre_angle), np.sin(self.fibre_angle)])

    @property
    def across(self) -> np.ndarray:
        """Unit vector across the fibres."""
        return np.array([-self.along[1], self.along[0]])


class _Nuclei(NamedTuple):
    """Nuclei: centres (n, 2) at 64 px, radius, elongation, orientation and darkness (n,), outline wobble
    (n, _VERTS)."""

    xy: np.ndarray
    radius: np.ndarray
    aspect: np.ndarray
    rot: np.ndarray
    dark: np.ndarray
    wobble: np.ndarray


def _histology(tissue: str, rng: np.random.Generator) -> np.ndarray:
    """A histology patch of ``tissue``: RGB float (64, 64, 3), not yet clipped."""
    d = _HistologyDraws(rng)
    stroma, space = _stroma(d)
    if tissue == "normal":
        nuclei, lumen, epithelium = _normal_nuclei(d)
        stroma = stroma * (1 - lumen) + 0.3 * epithelium * (1 - lumen)
        space = np.maximum(space * (1 - epithelium), lumen)
    else:
        nuclei = _tumour_nuclei(d)
    return _stained(d, stroma, space, nuclei)


def _stroma(d: _HistologyDraws) -> tuple[np.ndarray, np.ndarray]:
    """Eosin density of the stroma with collagen fibres, and the white spaces (each (64, 64))."""
    u6, u24, u5, u13 = _upsampler(6), _upsampler(24), _upsampler(5), _upsampler(13)
    along, across = d.along, d.across

    def fibres(draw: ImageDraw.ImageDraw) -> None:
        s = np.linspace(-0.5, 0.5, 7)
        for i in range(d.n_fibres):
            pts = d.fibre_pts[i] + np.outer(s * d.fibre_len[i], along) + np.outer(d.fibre_wave[i] * 10, across)
            draw.line(
                [tuple(p) for p in pts.tolist()], fill=int(d.fibre_val[i]), width=int(d.fibre_width[i]), joint="curve"
            )

    stroma = (
        0.45
        + 0.55 * _gauss(_mask(fibres), 0.6)
        + 0.12 * (u6 @ d.stroma_grid @ u6.T)
        + 0.08 * (u24 @ d.fine_grid @ u24.T)
    )
    space = np.clip((u5 @ d.space_grid @ u5.T + 0.35 * (u13 @ d.space_fine @ u13.T) + d.space_amount) * 1.8, 0, 1)
    return stroma, space


def _normal_nuclei(d: _HistologyDraws) -> tuple[_Nuclei, np.ndarray, np.ndarray]:
    """Normal tissue: sparse, small, uniform nuclei in cords along the fibres or around glands, and scattered
    stromal cells; also the glands' lumen and epithelium (64, 64), zero without glands."""
    xy, rot, aspect, lumen, epithelium = _cords(d) if d.rows_layout else _glands(d)
    n = min(len(xy), _POOL - 16)
    xy = xy[:n] + d.pool_jit[:n] * 0.35
    rot, aspect = rot[:n], aspect[:n]
    radius = 1.5 + 0.45 * d.pool_size[:n]
    dark = 0.58 + 0.14 * d.pool_dark[:n]
    # scattered stromal cells: elongated fibroblasts along the fibres and small round lymphocytes
    m = d.n_stromal
    fibroblast = d.pool_aspect[n : n + m] < 0.5
    xy = np.concatenate([xy, d.pool_uv[n : n + m] * 64])
    radius = np.concatenate([radius, np.where(fibroblast, 1.15, 1.45) + 0.3 * d.pool_size[n : n + m]])
    aspect = np.concatenate([aspect, np.where(fibroblast, 2.6, 1.05)])
    rot = np.concatenate([rot, np.where(fibroblast, d.fibre_angle, d.pool_rot[n : n + m])])
    dark = np.concatenate([dark, 0.62 + 0.14 * d.pool_dark[n : n + m]])
    return _Nuclei(xy, radius, aspect, rot, dark, d.pool_wobble[: n + m] * 0.05), lumen, epithelium


def _cords(d: _HistologyDraws) -> tuple[np.ndarray, ...]:
    """Cords of cells along the fibres, evenly spaced: centres, orientations, elongations, and no lumen or
    epithelium (as :func:`_glands`)."""
    along, across = d.along, d.across
    spacing = 64.0 / d.n_rows
    xy, rot = [], []
    for j in range(d.n_rows):
        offset = (j + 0.2 + 0.6 * d.row_phase[j]) * spacing - 32
        ts = np.arange(-44, 44, 6.0) + d.row_phase[j] * 6
        xy.append(32 + np.outer(ts, along) + np.outer(offset + np.sin(ts / 9 + j) * 1.5, across))
        rot.append(np.full(len(ts), d.fibre_angle))
    xy_all, rot_all = np.concatenate(xy), np.concatenate(rot)
    empty = np.zeros((_N, _N), np.float32)
    return xy_all, rot_all, np.full(len(xy_all), 1.5), empty, empty


def _glands(d: _HistologyDraws) -> tuple[np.ndarray, ...]:
    """Glands: a lumen, a ring of epithelium and nuclei at its base. Returns the nuclei's centres,
    orientations (across the ring) and elongations, the lumen and the epithelium (64, 64)."""
    lumen = np.zeros((_N, _N), np.float32)
    epithelium = np.zeros((_N, _N), np.float32)
    xy, rot = [], []
    for g in d.glands[: d.n_glands]:
        gx, gy = 8 + g[0] * 48, 8 + g[1] * 48
        ra = 6.5 + g[2] * 6.5
        rb = ra * (0.6 + 0.4 * g[3])
        ga = g[4] * np.pi
        count = max(6, int(2 * np.pi * np.sqrt((ra * ra + rb * rb) / 2) * 0.92 / 5.0))
        t = np.linspace(0, 2 * np.pi, count, endpoint=False) + g[3]
        ex, ey = 0.92 * ra * np.cos(t), 0.92 * rb * np.sin(t)
        ca, sa = np.cos(ga), np.sin(ga)
        xy.append(np.stack([gx + ca * ex - sa * ey, gy + sa * ex + ca * ey], axis=1))
        rot.append(np.arctan2(ey * ra / rb, ex * rb / ra) + ga)  # elongated across the ring
        dx, dy = _X - gx, _Y - gy
        q = np.sqrt(((ca * dx + sa * dy) / ra) ** 2 + ((-sa * dx + ca * dy) / rb) ** 2)
        lumen = np.maximum(lumen, np.clip((0.55 - q) * 8, 0, 1))
        epithelium = np.maximum(epithelium, np.clip((1.12 - q) * 5, 0, 1))
    xy_all, rot_all = np.concatenate(xy), np.concatenate(rot)
    return xy_all, rot_all, np.full(len(xy_all), 1.35), lumen, epithelium


def _tumour_nuclei(d: _HistologyDraws) -> _Nuclei:
    """Tumour: crowded, pleomorphic, hyperchromatic nuclei in clusters and sheets, a few scattered."""
    n = d.n_tumour
    centres = 6 + d.clusters[: d.n_clusters, :2] * 52
    which = (d.pool_uv[:n, 0] * d.n_clusters).astype(int)
    spread = 9 + d.clusters[which, 2] * 9
    angle = d.pool_uv[:n, 1] * 2 * np.pi
    dist = np.sqrt(-2 * np.log(np.clip(d.pool_dist[:n], 1e-3, 1))) * spread * 0.8
    xy = centres[which] + np.stack([np.cos(angle), np.sin(angle)], axis=1) * dist[:, None]
    scattered = d.pool_dark[:n] < 0.3
    xy[scattered] = np.stack([d.pool_uv[:n, 1], d.pool_dist[:n]], axis=1)[scattered] * 64
    radius = 2.1 * np.exp(0.5 * (d.pool_size[:n] * 2 - 1)) + 0.4
    return _Nuclei(
        xy, radius, 1 + 0.6 * d.pool_aspect[:n], d.pool_rot[:n], 0.8 + 0.2 * d.pool_dark[:n], d.pool_wobble[:n] * 0.17
    )


def _stained(d: _HistologyDraws, stroma: np.ndarray, space: np.ndarray, nuclei: _Nuclei) -> np.ndarray:
    """The section stained (Beer-Lambert) and photographed: RGB float (64, 64, 3)."""
    polys = _nuclei_polygons(
        np.asarray(nuclei.xy, float),
        np.asarray(nuclei.radius, float),
        np.asarray(nuclei.aspect, float),
        np.asarray(nuclei.rot, float),
        nuclei.wobble,
    )

    def draw_nuclei(draw: ImageDraw.ImageDraw) -> None:
        for p, v in zip(polys.tolist(), (np.asarray(nuclei.dark) * 255).astype(int).tolist()):
            draw.polygon([tuple(q) for q in p], fill=v)

    nuc = _mask(draw_nuclei)
    cyto = _gauss(nuc, 1.6) * 0.8  # the cells' cytoplasm around the nuclei: a little denser
    nuc = _gauss(nuc, 0.35) * (0.85 + 0.15 * d.chromatin)
    stroma = np.clip(stroma + cyto * 0.6, 0, None) * (1 - space)
    h = nuc * d.h_int + d.counter * stroma * 0.35 + cyto * 0.12 * d.h_int
    od = h[..., None] * d.h_vec + (stroma * d.e_int)[..., None] * d.e_vec
    img = d.light * np.exp(-od)
    img = img * np.clip(d.target / img.reshape(-1, 3).mean(axis=0), 0.75, 1.35) ** np.float32(d.exposure)
    img = _gauss(img, d.blur_sigma)
    return img + d.noise * np.float32(d.noise_sd)


# ----------------------------------------------------------------------------------------------
# blood smear


_RBC_VEC = (0.14, 0.62, 0.50)  # red cells: salmon pink
_NUC_VEC = (1.05, 1.45, 0.55)  # Giemsa/Wright-stained nuclei: purple
_CYTO = {  # optical density of each white cell's cytoplasm
    "neutrophil": (0.11, 0.24, 0.13),
    "lymphocyte": (0.36, 0.20, 0.06),
    "monocyte": (0.27, 0.24, 0.14),
    "eosinophil": (0.06, 0.32, 0.45),
}
_RADIUS = {"neutrophil": 10.0, "lymphocyte": 7.9, "monocyte": 12.8, "eosinophil": 10.6}
_NUC_DARK = {"neutrophil": 1.0, "lymphocyte": 1.15, "monocyte": 0.8, "eosinophil": 0.95}


@lru_cache(maxsize=None)
def _rbc_sprite(r4: int) -> tuple[np.ndarray, np.ndarray]:
    """A red cell of radius ``r4 / 4`` px: its disc (anti-aliased) and its central pallor profile."""
    r = r4 / 4
    h = int(np.ceil(r)) + 2
    y, x = np.mgrid[-h : h + 1, -h : h + 1].astype(np.float32)
    d = np.sqrt(x * x + y * y)
    disc = np.clip(r - d + 0.5, 0, 1)
    rim = disc * (0.88 + 0.12 * np.clip((d / r - 0.55) * 3, 0, 1))
    pallor = disc * np.exp(-((d / (0.45 * r)) ** 2))
    return rim.astype(np.float32), pallor.astype(np.float32)


class _SmearDraws:
    """Every random number of one blood smear, drawn in a fixed order whatever the cell."""

    def __init__(self, rng: np.random.Generator):
        # the light and the stains
        self.light = (rng.uniform(0.84, 1.0) + rng.normal(0, 0.03, 3)).astype(np.float32)
        self.vignette = float(rng.uniform(0.0, 0.3))
        self.grad = rng.normal(0, 0.08, 2)
        self.stain = float(np.exp(rng.uniform(np.log(0.65), np.log(1.4))))
        self.rbc_vec = _jitter_vec(_RBC_VEC, rng, 0.15) * np.float32(rng.uniform(0.35, 0.85))
        self.nuc_vec = _jitter_vec(_NUC_VEC, rng, 0.2)
        self.cyto_jit = np.exp(rng.normal(0, 0.25, 3)).astype(np.float32)
        self.gran_jit = np.exp(rng.normal(0, 0.2, 3)).astype(np.float32)
        # red cells and platelets
        self.pallor = float(rng.uniform(0.2, 0.6))
        self.n_rbc = int(rng.integers(18, 46))
        self.rbc_r = float(rng.uniform(4.6, 6.2))
        self.rbc_xy = rng.uniform(-4, 68, (46, 2))
        self.rbc_size = rng.normal(1.0, 0.07, 46)
        self.n_platelets = int(rng.integers(0, 5))
        self.platelets = rng.uniform(2, 62, (5, 2))
        # the white cell: centre, size, turn, lobes, outline, granules, chromatin
        self.cx, self.cy = 32 + rng.uniform(-7, 7, 2)
        self.size = float(rng.uniform(0.87, 1.15))
        self.theta = float(rng.uniform(0, 2 * np.pi))
        self.lobe_jit = rng.normal(0, 1, (5, 3))
        self.n_lobes = 3 + int(rng.integers(0, 3))
        self.outline = rng.normal(0, 1, 12)
        self.granule = rng.random((_N, _N)).astype(np.float32)
        self.granularity = float(rng.uniform(0.3, 0.6))
        self.texture = rng.standard_normal((_N, _N)).astype(np.float32)
        # the camera
        self.blur_sigma = float(rng.uniform(0.3, 1.5))
        self.noise_sd = float(rng.uniform(0.008, 0.035))
        self.noise = rng.standard_normal((_N, _N, 3)).astype(np.float32)


def _smear(cell: str, rng: np.random.Generator) -> np.ndarray:
    """A blood smear around one white ``cell``: RGB float (64, 64, 3), not yet clipped."""
    d = _SmearDraws(rng)
    white = _WhiteCell(cell, d)
    cyto, nuc = _mask(white.cytoplasm), _mask(white.nucleus)
    return _smear_optics(cell, d, _red_cells(d), cyto, nuc, white.R)


def _red_cells(d: _SmearDraws) -> np.ndarray:
    """Red-cell density (64, 64): discs with a central pallor, densities adding where they overlap."""
    pad = 16
    rim = np.zeros((_N + 2 * pad, _N + 2 * pad), np.float32)
    pal = np.zeros_like(rim)
    for (x, y), s in zip(d.rbc_xy[: d.n_rbc], d.rbc_size[: d.n_rbc]):
        r_sprite, p_sprite = _rbc_sprite(int(round(d.rbc_r * s * 4)))
        h = r_sprite.shape[0] // 2
        ix, iy = int(round(x)) + pad, int(round(y)) + pad
        rim[iy - h : iy + h + 1, ix - h : ix + h + 1] += r_sprite
        pal[iy - h : iy + h + 1, ix - h : ix + h + 1] += p_sprite
    return (rim - d.pallor * pal)[pad:-pad, pad:-pad]


class _WhiteCell:
    """The white cell of a smear, drawn in its own frame (units of its radius ``R``, px at 64 px):
    :meth:`cytoplasm` and :meth:`nucleus` draw its masks (for :func:`_mask`)."""

    def __init__(self, cell: str, d: _SmearDraws):
        self.cell, self.d = cell, d
        self.R = _RADIUS[cell] * d.size
        self.c, self.s = np.cos(d.theta), np.sin(d.theta)

    def at(self, u: float, v: float) -> tuple[float, float]:
        """The supersampled canvas point of cell-frame point ``(u, v)``."""
        c, s, R = self.c, self.s, self.R
        return ((self.d.cx + R * (c * u - s * v)) * _SS, (self.d.cy + R * (s * u + c * v)) * _SS)

    def blob(
        self, draw: ImageDraw.ImageDraw, u: float, v: float, ru: float, rv: float, fill: int, wob: float = 0.05
    ) -> None:
        """An ellipse at ``(u, v)`` with radii ``(ru, rv)``, its outline wobbling by ``wob``."""
        t = np.linspace(0, 2 * np.pi, 12, endpoint=False)
        w = 1 + wob * self.d.outline
        draw.polygon(
            [self.at(u + ru * w[i] * np.cos(t[i]), v + rv * w[i] * np.sin(t[i])) for i in range(12)], fill=fill
        )

    def width(self, f: float) -> int:
        """A line width of ``f`` cell radii, supersampled px (at least 2)."""
        return max(2, int(round(f * self.R * _SS)))

    def cytoplasm(self, draw: ImageDraw.ImageDraw) -> None:
        """The cell's disc, and the platelets (coloured like chromatin later)."""
        self.blob(draw, 0, 0, 1.0, 1.0, 255)
        for x, y in self.d.platelets[: self.d.n_platelets]:
            draw.ellipse([(x - 1.3) * _SS, (y - 1.1) * _SS, (x + 1.3) * _SS, (y + 1.1) * _SS], fill=255)

    def nucleus(self, draw: ImageDraw.ImageDraw) -> None:
        """The nucleus that names the cell."""
        blob, at, width, lobe_jit = self.blob, self.at, self.width, self.d.lobe_jit
        if self.cell == "neutrophil":  # 3-5 lobes on an arc, joined by thin strands
            n_lobes = self.d.n_lobes
            span = np.deg2rad(210 + 40 * lobe_jit[0, 0])
            angles = -span / 2 + span * np.arange(n_lobes) / (n_lobes - 1)
            pts = [
                (0.5 * np.cos(a) - 0.12 + 0.05 * lobe_jit[i, 1], 0.5 * np.sin(a) + 0.05 * lobe_jit[i, 2])
                for i, a in enumerate(angles)
            ]
            for p, q in zip(pts[:-1], pts[1:]):
                draw.line([at(*p), at(*q)], fill=230, width=width(0.1))
            for i, p in enumerate(pts):
                blob(draw, p[0], p[1], 0.27 * (1 + 0.08 * lobe_jit[i, 0]), 0.23, 255)
        elif self.cell == "lymphocyte":  # a round dark nucleus filling most of the cell
            blob(draw, 0.1, 0.0, 0.8, 0.78, 255, wob=0.03)
        elif self.cell == "monocyte":  # a folded, kidney-shaped nucleus to one side
            blob(draw, -0.18, 0.0, 0.58, 0.5, 205, wob=0.06)
            blob(draw, 0.38, 0.06 * lobe_jit[0, 0], 0.3, 0.27, 0, wob=0.0)  # the kidney's notch
            draw.line([at(-0.45, -0.22), at(-0.25, 0.02), at(-0.42, 0.28)], fill=140, width=width(0.06))
        else:  # eosinophil: two lobes joined by a band
            for side in (-1, 1):
                blob(draw, 0.05, side * 0.36, 0.3, 0.27, 245)
            draw.line([at(0.05, -0.3), at(0.14, 0.0), at(0.05, 0.3)], fill=230, width=width(0.14))


def _smear_optics(
    cell: str, d: _SmearDraws, rbc: np.ndarray, cyto: np.ndarray, nuc: np.ndarray, R: float
) -> np.ndarray:
    """The smear stained (Beer-Lambert: red cells, the white cell's cytoplasm, granules and nucleus,
    platelets) and photographed (illumination, blur, noise): RGB float (64, 64, 3)."""
    inside = cyto * (1 - nuc)
    cyto_od = np.asarray(_CYTO[cell], np.float32) * d.cyto_jit
    if cell == "eosinophil":  # packed orange-red granules
        gran = np.clip((d.granule - d.granularity) * 3, 0, 1) * inside
        gran_od = np.float32(0.9) * np.array([0.08, 0.85, 1.05], np.float32) * d.gran_jit
    elif cell == "neutrophil":  # fine, faint lilac granules
        gran = np.clip((d.granule - 0.6) * 2.5, 0, 1) * inside
        gran_od = np.float32(0.35) * np.array([0.3, 0.45, 0.2], np.float32) * d.gran_jit
    elif cell == "monocyte":  # a few pale vacuoles
        gran = -np.clip((d.granule - 0.93) * 12, 0, 1) * inside
        gran_od = cyto_od * 0.8
    else:
        gran = np.zeros_like(cyto)
        gran_od = np.zeros(3, np.float32)
    nuc = nuc * _NUC_DARK[cell] * (0.88 + 0.12 * d.texture)
    platelet_od = np.float32(0.6) * d.nuc_vec

    od = (
        (rbc * (1 - cyto))[..., None] * d.rbc_vec
        + cyto[..., None] * cyto_od
        + gran[..., None] * gran_od
        + nuc[..., None] * d.nuc_vec
    )
    if d.n_platelets:  # the platelets were drawn into the cytoplasm mask; colour them like chromatin
        far = (((_X - d.cx) ** 2 + (_Y - d.cy) ** 2) > (R + 1.5) ** 2)[..., None]
        od = np.where(far, od - cyto[..., None] * (cyto_od - platelet_od), od)
    r2 = ((_X - 32) ** 2 + (_Y - 32) ** 2) / 32**2
    illum = d.light * (1 - d.vignette * r2 + d.grad[0] * (_X - 32) / 32 + d.grad[1] * (_Y - 32) / 32)[..., None]
    img = illum * np.exp(-od * np.float32(d.stain))
    img = _gauss(img, d.blur_sigma)
    return img + d.noise * np.float32(d.noise_sd)


# ----------------------------------------------------------------------------------------------
# the domain

_ARTICLE = re.compile(r"\b(a) ([a-z]+)")

# phrases that name the style ("histology", "blood smear") and phrases that only say "microscope"
_HISTO_TISSUE = (
    "a histology slide of {tissue} tissue",
    "{tissue} tissue in a histology slide",
    "a histology patch of {tissue} tissue",
    "a stained histology section of {tissue} tissue",
)
_HISTO_TISSUE_NOSTYLE = ("a microscope image of {tissue} tissue", "{tissue} tissue under a microscope")
_HISTO = ("a histology slide", "a histology patch", "a stained histology section", "histology under a microscope")
_HISTO_NOSTYLE = ("a microscope image of tissue", "a stained tissue section")
_SMEAR_CELL = (
    "a blood smear with a {cell}",
    "a microscope photo of a {cell} in a blood smear",
    "a {cell} in a blood smear",
    "a stained blood smear showing a {cell}",
)
_SMEAR_CELL_NOSTYLE = (
    "a {cell} under a microscope",
    "a microscope image of a {cell} among red blood cells",
    "a microscope image of a white blood cell: a {cell}",
)
_SMEAR = ("a blood smear", "a stained blood smear", "a microscope image of a blood smear")
_SMEAR_NOSTYLE = ("a microscope image of blood cells", "blood cells under a microscope")
_PHRASES = (
    _HISTO_TISSUE,
    _HISTO_TISSUE_NOSTYLE,
    _HISTO,
    _HISTO_NOSTYLE,
    _SMEAR_CELL,
    _SMEAR_CELL_NOSTYLE,
    _SMEAR,
    _SMEAR_NOSTYLE,
)


class Cells(Domain):
    """PCam-like histology patches and blood smears (see the module docstring)."""

    name = "cells"
    description = (
        "Microscopy: PCam-like H&E histology patches of normal or tumour tissue, and blood smears "
        "with one white blood cell (neutrophil, lymphocyte, monocyte or eosinophil) among red cells, "
        "with varied stains, illumination, layout, blur and noise."
    )
    attributes = {"style": STYLES, "tissue": TISSUES, "cell": CELLS}
    words = vocabulary(CARRIERS, STYLES, TISSUES, CELLS, *_PHRASES, "an")

    def applicable(self, attrs: Mapping[str, str]) -> tuple[str, ...]:
        return ("style", "tissue") if attrs.get("style") == "histology" else ("style", "cell")

    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        check_split(split)
        style = attrs.get("style")
        rng = np.random.default_rng(seed)
        if style == "histology":
            tissue = attrs.get("tissue")
            if tissue not in TISSUES:
                raise ValueError(f"domain 'cells': histology needs a tissue in {list(TISSUES)}, got {tissue!r}")
            return to_uint8(_histology(tissue, rng))
        if style == "smear":
            cell = attrs.get("cell")
            if cell not in CELLS:
                raise ValueError(f"domain 'cells': a smear needs a cell in {list(CELLS)}, got {cell!r}")
            return to_uint8(_smear(cell, rng))
        raise ValueError(f"domain 'cells': no style {style!r}; styles: {list(STYLES)}")

    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        chosen = set(named)
        say_style = "style" in chosen or rng.random() < 0.5
        group: tuple[str, ...]
        if attrs.get("style") == "histology":
            if "tissue" in chosen:
                group = _HISTO_TISSUE if say_style else _HISTO_TISSUE_NOSTYLE
            else:
                group = _HISTO if say_style else _HISTO_NOSTYLE
        else:
            if "cell" in chosen:
                group = _SMEAR_CELL if say_style else _SMEAR_CELL_NOSTYLE
            else:
                group = _SMEAR if say_style else _SMEAR_NOSTYLE
        text = group[int(rng.integers(len(group)))].format(tissue=attrs.get("tissue", ""), cell=attrs.get("cell", ""))
        text = _ARTICLE.sub(lambda m: f"{article(m.group(2))} {m.group(2)}", text)
        if text.startswith(("a microscope", "a histology", "a blood", "a stained")):
            return text  # already says what kind of picture it is: no "a photo of" before it
        return with_carrier(text, rng)
