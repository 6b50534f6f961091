"""Aerial: top-down pictures of land, the mini world's RESISC45 and EuroSAT.

Each picture looks straight down on one kind of land: a forest (textured, shaded tree crowns), a
river (a meandering blue-brown band with sandy banks and trees along them), a lake (a large
irregular water body with a shore), farmland (a patchwork of fields with parallel crop rows in
greens, yellows and browns), a residential area (small roofs in a street grid with gardens and
trees), an industrial area (large flat grey and white roofs, parking lots with cars, storage
tanks), a highway (a wide road with lanes, dashed marks and cars crossing the frame) or a pasture
(smooth light-green fields with hedges, a few trees and a path). The land is described as a
function of ground coordinates, so the same scene can be sensed two ways:

- ``aerial`` (like RESISC45): sampled sharply at full resolution, rotated at random, mild exposure
  changes and noise;
- ``satellite`` (like EuroSAT): the same scene sampled at 16-24 pixels (area-averaged) and upsampled
  blocky or blurred, with atmospheric haze, colour casts, seasonal tints, sometimes false colour,
  and sensor noise.

What varies besides the two attributes: rotation and offset of the layout, sun direction, the
sizes of fields, blocks, lots, roads and water bodies, the mix of background land, colours of
crops, roofs and water, and the sensor's look. The scene's randomness is drawn in an order that
does not depend on the land type or the sensor, so two pictures with the same seed that differ in
one attribute share layout parameters, sun and sensor nuisances.

Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

from typing import Mapping, NamedTuple, Sequence

import numpy as np
from PIL import Image

from vlmsel.mini.domains.base import CARRIERS, IMAGE_SIZE, Domain, check_split, to_uint8, vocabulary, with_carrier

SENSORS = ("aerial", "satellite")
LANDS = ("forest", "river", "lake", "farmland", "residential", "industrial", "highway", "pasture")

_C = {
    k: np.array(v, dtype=np.float32).reshape(3, 1, 1)
    for k, v in {
        "grass": (0.42, 0.54, 0.26),
        "meadow": (0.55, 0.66, 0.33),
        "dry": (0.64, 0.61, 0.38),
        "forest": (0.14, 0.27, 0.12),
        "hedge": (0.18, 0.30, 0.14),
        "crop_green": (0.33, 0.50, 0.20),
        "crop_light": (0.52, 0.64, 0.30),
        "crop_yellow": (0.80, 0.72, 0.42),
        "soil": (0.52, 0.42, 0.31),
        "dark_soil": (0.36, 0.29, 0.21),
        "stubble": (0.70, 0.62, 0.45),
        "water_blue": (0.09, 0.24, 0.42),
        "water_mud": (0.45, 0.38, 0.22),
        "water_green": (0.14, 0.28, 0.26),
        "sand": (0.76, 0.71, 0.58),
        "asphalt": (0.30, 0.30, 0.32),
        "concrete": (0.66, 0.66, 0.64),
        "path": (0.70, 0.63, 0.50),
        "mark": (0.93, 0.93, 0.90),
    }.items()
}
_TINT_INDEX = {name: i % 8 for i, name in enumerate(_C)}  # which per-image colour jitter a colour takes
_CROPS = ("crop_green", "crop_light", "crop_yellow", "soil", "dark_soil", "stubble", "crop_green", "dry")
_ROOFS = np.array(
    [
        (0.66, 0.33, 0.23),
        (0.32, 0.32, 0.34),
        (0.48, 0.32, 0.24),
        (0.62, 0.61, 0.60),
        (0.58, 0.22, 0.19),
        (0.72, 0.46, 0.32),
        (0.40, 0.40, 0.45),
        (0.55, 0.28, 0.22),
    ],
    dtype=np.float32,
)
_FLAT_ROOFS = np.array(
    [
        (0.90, 0.90, 0.88),
        (0.74, 0.75, 0.76),
        (0.56, 0.62, 0.70),
        (0.80, 0.76, 0.66),
        (0.46, 0.47, 0.49),
        (0.84, 0.85, 0.86),
    ],
    dtype=np.float32,
)
_CARS = np.array(
    [
        (0.92, 0.92, 0.92),
        (0.10, 0.10, 0.12),
        (0.70, 0.12, 0.10),
        (0.15, 0.25, 0.60),
        (0.65, 0.66, 0.68),
        (0.85, 0.80, 0.20),
    ],
    dtype=np.float32,
)

_KIND = {
    "aerial": ("an aerial photo", "an aerial image", "aerial imagery", "an aerial view"),
    "satellite": ("a satellite image", "a satellite photo", "satellite imagery", "a centered satellite photo"),
    None: ("a remote sensing image", "an overhead image", "an overhead photo", "a top down view"),
}
_VIEW = {"aerial": "an aerial view", "satellite": "a satellite view", None: "an overhead view"}
_LAND = {
    "forest": ("a forest", "forest", "a forest area"),
    "river": ("a river", "a river area"),
    "lake": ("a lake", "a lake area"),
    "farmland": ("farmland", "a farmland area"),
    "residential": ("a residential area",),
    "industrial": ("an industrial area",),
    "highway": ("a highway", "a highway area"),
    "pasture": ("a pasture", "pasture land"),
}


def _smooth(values: np.ndarray, size: int) -> np.ndarray:
    """A small random grid upsampled bicubically over the whole frame to (size, size)."""
    img = Image.fromarray(np.ascontiguousarray(values, dtype=np.float32), mode="F")
    return np.asarray(img.resize((size, size), Image.Resampling.BICUBIC), dtype=np.float32)


def _step(d: np.ndarray, e: float) -> np.ndarray:
    """Anti-aliased step: 1 where ``d`` > 0, a ramp of width ``e`` (one pixel) around 0."""
    return np.clip(0.5 + d / e, 0.0, 1.0)


def _paint(img: np.ndarray, colour: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``img`` with ``colour`` (an RGB triple or an image) laid over it with coverage ``mask``."""
    return img + (colour - img) * mask


def _rect(u: np.ndarray, v: np.ndarray, hu, hv, e: float) -> np.ndarray:
    """Coverage of the rectangle |u| < hu, |v| < hv (anti-aliased)."""
    return _step(hu - np.abs(u), e) * _step(hv - np.abs(v), e)


class _Uniforms(NamedTuple):
    """The named uniform draws of one scene, in [0, 1), in the order they are drawn (72 of them: these, then
    unused ones). Each shapes one thing of one land type (or of the fields and countryside several share);
    ``spare_*`` are drawn and unused, so that the draws after them stay what they are."""

    # fields (farmland, countryside plots, the highway's surroundings)
    field_u: float
    field_v: float
    field_edge: float
    field_track: float
    spare_4: float
    spare_5: float
    spare_6: float
    spare_7: float
    spare_8: float
    spare_9: float
    # forest
    forest_density: float
    forest_track: float
    forest_track_offset: float
    forest_track_wave: float
    # river: the meander, a ripple on it, the banks, the water
    river_wavelength: float
    river_ripple_wavelength: float
    river_amplitude: float
    river_ripple_amplitude: float
    river_phase: float
    river_ripple_phase: float
    river_offset: float
    river_width: float
    river_trees: float
    river_sand: float
    river_water: float
    # lake
    lake_x: float
    lake_y: float
    lake_radius: float
    island: float
    island_x: float
    island_y: float
    island_radius: float
    lake_trees: float
    lake_green: float
    # residential and industrial blocks, then residential lots
    block_u: float
    block_v: float
    street_width: float
    lot_width: float
    garden_trees: float
    roof_light: float
    # countryside (river, lake and highway backgrounds)
    countryside_plots: float
    countryside_woods: float
    road_concrete: float  # residential
    # industrial
    rooftop_units: float
    parking_aisle: float
    tank_spacing: float
    tank_radius: float
    # highway
    highway_countryside: float
    lanes: float
    lane_width: float
    median_width: float
    highway_offset: float
    highway_bend: float
    crossing: float
    crossing_angle: float
    crossing_offset: float
    crossing_width: float
    median_grass: float
    # pasture
    hedge_spacing: float
    hedges: float
    path_angle: float
    path_offset: float
    path_wave: float
    path: float
    single_trees: float
    leaf_light: float  # forest


class _Ground:
    """The pre-drawn randomness of one scene and the ground coordinates of one sampling grid."""

    def __init__(self, rnd: dict, n: int):
        self.r, self.n = rnd, n
        self.px = IMAGE_SIZE / n  # ground units (pixels of a 64-px aerial picture) per sample
        c = (np.arange(n, dtype=np.float32) + 0.5) * self.px - IMAGE_SIZE / 2
        self.X, self.Y = np.meshgrid(c, c)
        a = rnd["angle"]
        self.ca, self.sa = float(np.cos(a)), float(np.sin(a))
        self.U = self.X * self.ca + self.Y * self.sa + rnd["offset"][0]
        self.V = -self.X * self.sa + self.Y * self.ca + rnd["offset"][1]
        self.Vc = self.V - rnd["offset"][1]  # across the rotated frame, 0 through the centre
        self.q, self.tab = rnd["q"], rnd["tab"]
        self._noise: dict[str, np.ndarray] = {}
        self._crowns: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        s = rnd["sun"]
        self.sun = float(np.cos(s)), float(np.sin(s))
        # the sun's shadow offset in the rotated (U, V) frame
        self.shadow_uv = (
            1.3 * (self.sun[0] * self.ca + self.sun[1] * self.sa),
            1.3 * (-self.sun[0] * self.sa + self.sun[1] * self.ca),
        )

    def noise(self, key: str) -> np.ndarray:
        if key not in self._noise:
            self._noise[key] = _smooth(self.r["grids"][key], self.n)
        return self._noise[key]

    def col(self, name: str) -> np.ndarray:
        return _C[name] * self.r["tint"][_TINT_INDEX[name]]

    def fill(self, name: str) -> np.ndarray:
        return np.broadcast_to(self.col(name), (3, self.n, self.n)).astype(np.float32)

    # -- shared pieces -------------------------------------------------------------------------
    def crowns(self, density: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Shaded tree crowns: (colour image, height field) over the whole frame."""
        if density in self._crowns:
            return self._crowns[density]
        h = self.noise("crown") + 0.55 * self.noise("crown2")
        gy, gx = np.gradient(h)
        shade = -(gx * self.sun[0] + gy * self.sun[1]) / self.px
        mix = self.noise("mid")
        base = _paint(self.fill("forest"), _C["hedge"] * 1.15, np.clip(0.5 + 0.5 * mix, 0, 1))
        lum = (0.7 + 0.35 * np.clip(0.5 + 0.4 * h, 0, 1)) * (1 + 0.55 * np.clip(shade, -1, 1))
        lum = lum * (1 - 0.4 * _step(-(h + 0.9 * density), 0.6))
        self._crowns[density] = base * lum, h
        return self._crowns[density]

    def countryside(self) -> np.ndarray:
        """Mixed rural background: grass with field plots and patches of forest."""
        img = _paint(self.fill("grass"), self.col("meadow"), np.clip(0.5 + 0.5 * self.noise("mid"), 0, 1))
        plots = self.fields(rows=False)
        img = _paint(img, plots, _step(self.noise("low2") - 0.1 + 0.6 * self.q.countryside_plots, 0.3) * 0.8)
        trees, _ = self.crowns()
        return _paint(img, trees, _step(self.noise("low") - 0.2 - 0.5 * self.q.countryside_woods, 0.4))

    def fields(self, rows: bool = True) -> np.ndarray:
        """A patchwork of fields in the rotated frame, with crop rows when ``rows``."""
        q, tab, e = self.q, self.tab, self.px
        wu = 12 + 16 * q.field_u
        wv = 9 + 12 * q.field_v
        iu = np.floor(self.U / wu)
        fu = self.U - iu * wu
        iu = iu.astype(np.int64) % 16
        vv = self.V + tab[0, iu, 0] * wv  # each column of fields is staggered
        iv = np.floor(vv / wv)
        fv = vv - iv * wv
        iv = iv.astype(np.int64) % 16
        kind = (tab[1, iu, iv] * len(_CROPS)).astype(np.int64)
        palette = np.stack([self.col(c)[:, 0, 0] for c in _CROPS], axis=1)
        img = palette[:, kind] * (0.9 + 0.2 * tab[2, iu, iv])
        if rows:
            period = 2.6 + 1.6 * tab[3, iu, iv]
            along = np.where(tab[4, iu, iv] < 0.5, self.U, self.V)
            stripes = np.sin(2 * np.pi * along / period)
            contrast = 0.06 + 0.16 * tab[5, iu, iv]
            img = img * (1 + contrast * stripes)
        edge = np.minimum(np.minimum(fu, wu - fu), np.minimum(fv, wv - fv))
        boundary = _step(0.7 - edge, e) * (0.6 + 0.4 * q.field_edge)
        track = self.col("path") if q.field_track < 0.5 else self.col("hedge")
        return _paint(img, track, boundary)


# -- the land types ----------------------------------------------------------------------------


def _forest(g: _Ground) -> np.ndarray:
    img, _ = g.crowns(density=0.7 + 0.6 * g.q.forest_density)
    img = img * (1 + 0.5 * g.q.leaf_light * np.array([0.5, 0.4, 0.1], np.float32).reshape(3, 1, 1))  # lighter leaves
    if g.q.forest_track < 0.3:  # a forest track
        d = np.abs(g.V - 10 * (g.q.forest_track_offset - 0.5) - 3 * np.sin(g.U / (9 + 8 * g.q.forest_track_wave)))
        img = _paint(img, g.col("path") * 0.8, _step(0.8 - d, g.px) * 0.9)
    return img


def _river(g: _Ground) -> np.ndarray:
    q, e = g.q, g.px
    img = g.countryside()
    lam1, lam2 = 55 + 60 * q.river_wavelength, 20 + 15 * q.river_ripple_wavelength
    a1, a2 = 4 + 9 * q.river_amplitude, 1 + 3 * q.river_ripple_amplitude
    ph1, ph2 = 2 * np.pi * q.river_phase, 2 * np.pi * q.river_ripple_phase
    k1, k2 = 2 * np.pi / lam1, 2 * np.pi / lam2
    vc = 12 * (q.river_offset - 0.5) + a1 * np.sin(k1 * g.U + ph1) + a2 * np.sin(k2 * g.U + ph2)
    slope = a1 * k1 * np.cos(k1 * g.U + ph1) + a2 * k2 * np.cos(k2 * g.U + ph2)
    d = np.abs(g.Vc - vc) / np.sqrt(1 + slope * slope)
    hw = 3.5 + 4.5 * q.river_width + 0.8 * g.noise("mid")
    trees, _ = g.crowns()
    img = _paint(img, trees, _step(hw + 4 + 3 * q.river_trees + 2.5 * g.noise("low2") - d, 1.5) * 0.9)
    img = _paint(img, g.col("sand"), _step(hw + 1.2 - d, e) * (0.5 + 0.5 * q.river_sand))
    water = g.fill(("water_blue", "water_green", "water_mud")[int(q.river_water * 2.999)])
    depth = np.clip(d / np.maximum(hw, 1), 0, 1)
    water = water * (0.8 + 0.3 * depth)
    return _paint(img, water, _step(hw - d, e))


def _lake(g: _Ground) -> np.ndarray:
    q, e = g.q, g.px
    img = g.countryside()
    cx, cy = 28 * (q.lake_x - 0.5), 28 * (q.lake_y - 0.5)
    r = np.sqrt((g.X - cx) ** 2 + (g.Y - cy) ** 2)
    radius = (15 + 12 * q.lake_radius) * (1 + 0.3 * g.noise("low") + 0.12 * g.noise("mid"))
    inside = radius - r
    if q.island < 0.35:  # an island
        ix, iy = cx + 8 * (q.island_x - 0.5), cy + 8 * (q.island_y - 0.5)
        inside = np.minimum(inside, np.sqrt((g.X - ix) ** 2 + (g.Y - iy) ** 2) - 2.5 - 2 * q.island_radius)
    trees, _ = g.crowns()
    img = _paint(img, trees, _step(inside + 3 + 3 * q.lake_trees, 1.5) * 0.8)
    img = _paint(img, g.col("sand") * 0.95, _step(inside + 1.3, e))
    water = _paint(g.fill("water_blue"), g.col("water_green"), np.full(r.shape, q.lake_green, np.float32))
    depth = np.clip(inside / 12, 0, 1)
    water = water * (1.05 - 0.35 * depth)
    return _paint(img, water, _step(inside, e))


def _farmland(g: _Ground) -> np.ndarray:
    img = g.fields(rows=True)
    return img * (1 + 0.05 * g.noise("crown"))


def _residential(g: _Ground) -> np.ndarray:
    q, tab, e = g.q, g.tab, g.px
    bu, bv, sw = 22 + 10 * q.block_u, 16 + 7 * q.block_v, 2.6 + 1.4 * q.street_width
    lw = 6.2 + 2.4 * q.lot_width
    trees, h = g.crowns()
    img = _paint(g.fill("grass"), g.col("meadow"), np.clip(0.5 + 0.5 * g.noise("mid"), 0, 1))

    def layout(u, v):
        ib, jb = np.floor(u / bu), np.floor(v / bv)
        fu, fv = u - ib * bu - sw, v - jb * bv - sw  # block-local, streets at < 0
        rowh = (bv - sw) / 2
        row = (fv >= rowh).astype(np.int64)
        lv = np.where(row == 1, bv - sw - fv, fv)  # distance from the street the lot faces
        li = np.floor(fu / lw)
        lu = fu - li * lw
        key_u = (ib.astype(np.int64) * 3 + li.astype(np.int64)) % 16
        key_v = (jb.astype(np.int64) * 2 + row) % 16
        hu = 1.7 + 1.2 * tab[6, key_u, key_v]
        hv = 1.8 + 1.3 * tab[7, key_u, key_v]
        cu = lw / 2 + (tab[8, key_u, key_v] - 0.5) * (lw - 2 * hu - 1)
        cv = 1.2 + hv + 1.5 * tab[9, key_u, key_v]
        house = _rect(lu - cu, lv - cv, hu, hv, e) * (tab[10, key_u, key_v] < 0.93)
        street = np.maximum(_step(-fu, e), _step(-fv, e))
        return house, street, (lu - cu) / hu, key_u, key_v

    house, street, across, ku, kv = layout(g.U, g.V)
    shadow, _, _, _, _ = layout(g.U - g.shadow_uv[0], g.V - g.shadow_uv[1])
    img = _paint(img, trees, _step(h - 0.55 - 0.6 * q.garden_trees, 0.4) * (1 - street))
    img = img * (1 - 0.45 * np.clip(shadow - house, 0, 1))
    roof = _ROOFS.T[:, (g.tab[11, ku, kv] * len(_ROOFS)).astype(np.int64)] * (0.9 + 0.15 * g.tab[12, ku, kv])
    roof = roof * (1 + 0.16 * np.sign(across) * (g.sun[0] if q.roof_light < 0.5 else -g.sun[0]))
    img = _paint(img, roof, house)
    road = _paint(g.fill("asphalt"), g.col("concrete"), np.full(house.shape, 0.25 * q.road_concrete, np.float32))
    return _paint(img, road, street)


def _industrial(g: _Ground) -> np.ndarray:
    q, tab, e = g.q, g.tab, g.px
    cu, cv, sw = 24 + 12 * q.block_u, 20 + 10 * q.block_v, 3 + 2 * q.street_width
    ib, jb = np.floor(g.U / cu), np.floor(g.V / cv)
    fu, fv = g.U - ib * cu - sw, g.V - jb * cv - sw
    iu, iv = ib.astype(np.int64) % 16, jb.astype(np.int64) % 16
    wu, wv = cu - sw, cv - sw
    kind = tab[13, iu, iv]  # < 0.5 a building, < 0.8 a parking lot, else a yard with tanks
    img = _paint(g.fill("concrete"), g.col("dry"), np.clip(0.3 + 0.4 * g.noise("mid"), 0, 1) * 0.5)
    # buildings: large flat roofs with an inset, rooftop units and a cast shadow
    mu0, mu1 = 0.5 + 3 * tab[14, iu, iv], 0.5 + 3 * tab[15, iu, iv]
    du, dv = fu - (mu0 + (wu - mu0 - mu1) / 2), fv - wv / 2
    hu, hv = (wu - mu0 - mu1) / 2, wv / 2 - 0.6 - 2 * tab[12, iu, iv]
    bld = _rect(du, dv, hu, hv, e) * (kind < 0.5)
    sh = _rect(du - g.shadow_uv[0], dv - g.shadow_uv[1], hu, hv, e) * (kind < 0.5)
    img = img * (1 - 0.45 * np.clip(sh - bld, 0, 1))
    roof = _FLAT_ROOFS.T[:, (tab[11, iu, iv] * len(_FLAT_ROOFS)).astype(np.int64)]
    su, sv = fu / 5.5, fv / 5.5
    unit = _rect(su - np.floor(su) - 0.5, sv - np.floor(sv) - 0.5, 0.16, 0.2, e / 5.5) * (q.rooftop_units < 0.6)
    roof = roof * (1 - 0.3 * unit - 0.08 * _step(1.0 - np.minimum(hu - np.abs(du), hv - np.abs(dv)), e))
    img = _paint(img, roof, bld)
    # parking lots: asphalt, stall lines, cars
    lot = _rect(fu - wu / 2, fv - wv / 2, wu / 2 - 0.5, wv / 2 - 0.5, e) * ((kind >= 0.5) & (kind < 0.8))
    img = _paint(img, g.col("asphalt") * 1.05, lot)
    stall, aisle = 2.6, 5.2 + 1.5 * q.parking_aisle
    ka, kb = np.floor(fu / stall), np.floor(fv / aisle)
    lu, lv = fu - ka * stall, fv - kb * aisle
    lines = _step(0.3 - np.abs(lu), e) * (np.abs(lv - aisle / 2) < aisle * 0.42)
    img = _paint(img, g.col("mark") * 0.85, lines * lot * 0.8)
    kk = (ka.astype(np.int64) * 5 + kb.astype(np.int64) * 3) % 16
    car = _rect(lu - stall / 2, np.abs(lv - aisle / 2) - aisle * 0.22, 0.75, 0.9, e) * (tab[16, kk, iv] < 0.55)
    img = _paint(img, _CARS.T[:, (tab[17, kk, iu] * len(_CARS)).astype(np.int64)], car * lot)
    # yards: storage tanks (white discs with shadows) on concrete
    yard = _rect(fu - wu / 2, fv - wv / 2, wu / 2 - 0.5, wv / 2 - 0.5, e) * (kind >= 0.8)
    sp = 8 + 4 * q.tank_spacing
    tu, tv = fu / sp, fv / sp
    du, dv = (tu - np.floor(tu) - 0.5) * sp, (tv - np.floor(tv) - 0.5) * sp
    rad = sp * (0.3 + 0.1 * q.tank_radius)
    img = img * (1 - 0.4 * yard * _step(rad - np.hypot(du - g.shadow_uv[0], dv - g.shadow_uv[1]), e))
    tank = yard * _step(rad - np.hypot(du, dv), e)
    img = _paint(img, g.col("mark") * (0.92 - 0.12 * np.clip(np.hypot(du, dv) / rad, 0, 1)), tank)
    road = g.fill("asphalt")
    street = np.maximum(_step(-fu, e), _step(-fv, e))
    return _paint(img, road, street)


def _highway(g: _Ground) -> np.ndarray:
    q, tab, e = g.q, g.tab, g.px
    img = g.countryside() if q.highway_countryside < 0.6 else g.fields(rows=True)
    lanes = 2 + int(q.lanes < 0.5)
    lane = 2.4 + 0.5 * q.lane_width
    med = 1.2 + 2.5 * q.median_width
    vc = 14 * (q.highway_offset - 0.5) + 0.004 * (q.highway_bend - 0.5) * g.U * g.U
    d = g.Vc - vc  # signed distance to the middle of the median
    half = med / 2 + lanes * lane + 0.7
    if q.crossing < 0.5:  # a local road crossing at another angle
        ang = 0.6 + 1.9 * q.crossing_angle
        dd = np.abs(g.U * float(np.cos(ang)) + g.V * float(np.sin(ang)) - 12 * (q.crossing_offset - 0.5))
        img = _paint(img, g.col("asphalt") * 1.1, _step(1.8 + 0.8 * q.crossing_width - dd, e))
    ad = np.abs(d)
    img = _paint(img, g.col("concrete") * 0.9, _step(half + 1.2 - ad, e))  # verge
    img = _paint(img, g.fill("asphalt"), _step(half - ad, e))
    img = _paint(img, g.col("grass") if q.median_grass < 0.6 else g.col("concrete"), _step(med / 2 - ad, e))
    within = ad - med / 2  # distance from the median edge into the carriageway
    img = _paint(img, g.col("mark"), _step(0.3 - np.abs(within - 0.45), e) * 0.8)  # solid lines
    img = _paint(img, g.col("mark"), _step(0.3 - np.abs(within - (lanes * lane - 0.05)), e) * 0.8)
    dash = np.floor(g.U / 5.0) % 2 == 0
    for k in range(1, lanes):
        img = _paint(img, g.col("mark"), _step(0.28 - np.abs(within - k * lane - 0.2), e) * dash * 0.9)
    # cars: short rectangles in the lanes, one slot every 7 units
    slot = np.floor(g.U / 7.0)
    lk = np.floor((within - 0.2) / lane)
    key = (slot.astype(np.int64) * 3 + lk.astype(np.int64) * 5 + (d > 0) * 7) % 16
    cu = g.U - (slot + 0.3 + 0.4 * tab[18, key, 1]) * 7.0
    cv = within - 0.2 - (lk + 0.5) * lane
    car = _rect(cu, cv, 1.3, 0.75, e) * (tab[18, key, 0] < 0.45) * (lk >= 0) * (lk < lanes)
    return _paint(img, _CARS.T[:, (tab[18, key, 2] * len(_CARS)).astype(np.int64)], car)


def _pasture(g: _Ground) -> np.ndarray:
    q, tab, e = g.q, g.tab, g.px
    img = _paint(g.fill("meadow"), g.col("grass"), np.clip(0.4 + 0.3 * g.noise("low2"), 0, 1))
    img = img * (1 + 0.06 * g.noise("mid"))
    # hedges between fields
    wv = 26 + 20 * q.hedge_spacing
    fv = g.V / wv
    dh = np.abs(fv - np.round(fv)) * wv
    trees, _ = g.crowns()
    hedge = _step(1.8 + 1.5 * np.clip(g.noise("crown"), 0, 2) - dh, e) * (q.hedges < 0.8)
    img = _paint(img, trees * 1.2, hedge)
    # a path
    sp, cp = float(np.sin(q.path_angle * 6.3)), float(np.cos(q.path_angle * 6.3))
    pd = np.abs(g.X * sp - g.Y * cp - 16 * (q.path_offset - 0.5) - 4 * np.sin((g.X + g.Y) / (8 + 6 * q.path_wave)))
    img = _paint(img, g.col("path"), _step(0.7 - pd, e) * (q.path < 0.75) * 0.85)
    # a few single trees with shadows
    for k in range(2 + int(5 * q.single_trees)):
        tx, ty, tr = 56 * (tab[19, k, 0] - 0.5), 56 * (tab[19, k, 1] - 0.5), 1.6 + 1.6 * tab[19, k, 2]
        rs = np.hypot(g.X - tx - 1.2 * g.sun[0], g.Y - ty - 1.2 * g.sun[1])
        img = img * (1 - 0.4 * _step(tr - rs, e))
        r = np.hypot(g.X - tx, g.Y - ty)
        lum = 1 - 0.35 * ((g.X - tx) * g.sun[0] + (g.Y - ty) * g.sun[1]) / tr
        img = _paint(img, g.col("forest") * 1.2 * np.clip(lum, 0.5, 1.4), _step(tr - r, e))
    return img


_LANDS = {
    "forest": _forest,
    "river": _river,
    "lake": _lake,
    "farmland": _farmland,
    "residential": _residential,
    "industrial": _industrial,
    "highway": _highway,
    "pasture": _pasture,
}


def _draw_scene(rng: np.random.Generator) -> dict:
    """Every random number a scene may use, drawn in a fixed order whatever the land type."""
    return {
        "angle": float(rng.uniform(0, 2 * np.pi)),
        "offset": [float(o) for o in rng.uniform(-40, 40, size=2)],
        "sun": float(rng.uniform(0, 2 * np.pi)),
        "q": _Uniforms(*rng.random(72).tolist()[: len(_Uniforms._fields)]),
        "tab": rng.random((20, 16, 16), dtype=np.float32),
        "grids": {
            "low": rng.standard_normal((4, 4)),
            "low2": rng.standard_normal((5, 5)),
            "mid": rng.standard_normal((9, 9)),
            "crown": rng.standard_normal((15, 15)),
            "crown2": rng.standard_normal((23, 23)),
        },
        "tint": (
            (1 + 0.04 * rng.standard_normal((8, 3, 1, 1))) * (1 + 0.06 * rng.standard_normal((8, 1, 1, 1)))
        ).astype(np.float32),
    }


def _resize(img: np.ndarray, size: int, resample) -> np.ndarray:
    out = Image.fromarray(to_uint8(img)).resize((size, size), resample)
    return np.asarray(out, dtype=np.float32) / 255.0


class Aerial(Domain):
    """Top-down pictures of land use (the mini world's RESISC45 and EuroSAT): a sensor and a land type."""

    name = "aerial"
    description = (
        "Top-down pictures of land (forest, river, lake, farmland, residential, industrial, highway, "
        "pasture), either sharp rotated aerial photos or hazy low-resolution satellite images, with "
        "random layout, sun, colours, haze and sensor noise."
    )
    attributes = {"sensor": SENSORS, "land": LANDS}
    words = vocabulary(CARRIERS, *_KIND.values(), _VIEW.values(), *_LAND.values(), SENSORS, LANDS, "of a an", sort=True)

    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        check_split(split)
        sensor, land = attrs["sensor"], attrs["land"]
        if sensor not in SENSORS or land not in LANDS:
            raise ValueError(f"aerial: unknown attribute values {dict(attrs)}")
        rs = np.random.default_rng(seed)
        # sensor nuisances first, all drawn whatever the sensor, then the scene
        small = int(rs.integers(16, 25))
        exposure = float(rs.uniform(0.85, 1.15))
        tone = float(rs.uniform(-0.2, 0.2))  # a cheap gamma-like tone curve
        haze = float(rs.uniform(0.06, 0.35))
        haze_col = np.array([0.72, 0.76, 0.84], np.float32) * float(rs.uniform(0.85, 1.1))
        cast = (1 + rs.uniform(-0.13, 0.13, size=3)).astype(np.float32)
        season = float(rs.uniform(-1, 1))
        false_colour = rs.random() < 0.2
        blocky = rs.random() < 0.5
        noise_small = float(rs.uniform(0.03, 0.1)) * (rs.random((24, 24, 3), dtype=np.float32) - 0.5)
        noise_full = rs.random((IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.float32) - 0.5
        noise_level = float(rs.uniform(0.015, 0.05))
        rnd = _draw_scene(rs)

        if sensor == "aerial":
            img = _LANDS[land](_Ground(rnd, IMAGE_SIZE)).transpose(1, 2, 0)
            img = np.clip(img, 0, 1)
            img = exposure * img * (1 + tone * (1 - img))
            img = img + noise_level * noise_full
            return to_uint8(img)
        g = _Ground(rnd, 2 * small)
        img = _LANDS[land](g).reshape(3, small, 2, small, 2).mean(axis=(2, 4))
        green = np.clip(img[1] - 0.5 * (img[0] + img[2]), 0, 1)
        if season > 0:  # dry season / autumn: vegetation towards yellow-brown
            img = img + season * green * np.array([0.5, 0.05, -0.1], np.float32).reshape(3, 1, 1)
        else:  # lush season: greener, darker
            img = img * (1 + 0.25 * season * np.array([0.3, -0.2, 0.3], np.float32).reshape(3, 1, 1))
        if false_colour:  # a near-infrared composite: vegetation turns red
            lum = img.mean(axis=0)
            nir = np.clip(0.05 + 3.0 * green + 0.55 * lum - 0.4 * np.clip(img[2] - img[0], 0, 1), 0, 1)
            img = np.stack([nir, img[0], img[1]])
        img = np.clip(img, 0, 1).transpose(1, 2, 0)
        img = exposure * img * (1 + tone * (1 - img)) * cast
        img = img * (1 - haze) + haze * haze_col
        img = img + noise_small[:small, :small]
        img = _resize(img, IMAGE_SIZE, Image.Resampling.NEAREST if blocky else Image.Resampling.BILINEAR)
        return to_uint8(img + noise_level * noise_full)

    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        sensor = attrs["sensor"] if "sensor" in named else None
        land = attrs["land"] if "land" in named else None
        if rng.random() < 0.6:
            kinds = _KIND[sensor]
            text = kinds[int(rng.integers(len(kinds)))]
            if land:
                lands = _LAND[land]
                text = f"{text} of {lands[int(rng.integers(len(lands)))]}"
            return text
        text = _VIEW[sensor]
        if land:
            lands = _LAND[land]
            text = f"{text} of {lands[int(rng.integers(len(lands)))]}"
        return with_carrier(text, rng)
