"""3-D scenes of the mini world: CLEVR-like renderings of simple objects on a grey floor.

Imitates CLEVR (the LOVM tasks on counting objects and on the distance of the closest object): one
to six spheres, cubes or cylinders stand on a grey floor that fades into a lighter back wall, seen by
a camera tilted down, with the horizon at a random height. Perspective is that of a ground plane:
an object whose foot is lower in the frame is closer, and its size on screen grows with its distance
below the horizon. The closest object's depth bucket gives ``distance`` (``near``: large and low in
the frame, ``far``: small and high; every other object is at least as far). Objects take CLEVR's
eight colours and two materials (matte rubber; shiny metal with a specular highlight and a mirrored
floor/wall), CLEVR's two sizes, a random rotation (cubes), soft shadows and contact shadows on the
floor; they may partly occlude each other, but a placement rule keeps every object visible, so the
count stays countable. Nuisances: horizon height, floor and wall greys, softness of the horizon,
camera tilt, light direction and intensity, shadow strength, positions, and mild render noise.
Drawn at twice the resolution with numpy and averaged down to 64 px.

``count = "one"`` with ``shape = "mixed"`` is no picture (one object cannot be a mix):
:meth:`Scenes3D.sample` never draws it and :meth:`Scenes3D.render` refuses it
(:meth:`Scenes3D.valid` says which attribute values go together).

Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from vlmsel.mini.domains.base import IMAGE_SIZE, Domain, check_split, to_uint8, vocabulary, with_carrier

COUNTS: tuple[str, ...] = ("one", "two", "three", "four", "five", "six")
DISTANCES: tuple[str, ...] = ("near", "middle", "far")
SHAPES: tuple[str, ...] = ("spheres", "cubes", "cylinders", "mixed")
_SOLIDS: tuple[str, ...] = ("sphere", "cube", "cylinder")

CLEVR_COLOURS: dict[str, tuple[float, float, float]] = {
    name: (r / 255.0, g / 255.0, b / 255.0)
    for name, (r, g, b) in {
        "gray": (87, 87, 87),
        "red": (173, 35, 35),
        "blue": (42, 75, 215),
        "green": (29, 105, 20),
        "brown": (129, 74, 25),
        "purple": (129, 38, 192),
        "cyan": (41, 208, 208),
        "yellow": (255, 238, 51),
    }.items()
}
"""CLEVR's eight object colours (RGB in [0, 1])."""
_PALETTE = np.array(list(CLEVR_COLOURS.values()), dtype=np.float32)

_SS = 2  # supersampling factor
_S = IMAGE_SIZE * _SS  # working resolution
_SLOTS = 6  # objects drawn per seed (the count keeps the first ones)
_CANDIDATES = 96  # placement candidates per object

_SHRINK = (1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4)  # size factors tried when an object finds no free place
_GAP = 0.35  # centres of two objects at least max(r) + _GAP * min(r) apart on screen
_R_MIN = 2.6 * _SS  # smallest object radius (a 5-px object at 64 px)
_T_MIN = 0.22  # nearness (fraction of the floor below the horizon) of the farthest allowed object
_CLOSEST: dict[str, tuple[float, float]] = {"near": (0.68, 0.92), "middle": (0.47, 0.65), "far": (0.28, 0.44)}
"""Nearness range of the closest object per distance bucket; 0 = horizon, 1 = bottom of the frame."""

_CARRIERS_3D = ("", "a picture of", "an image of")
_KINDS = ("a rendered scene", "a rendering", "a 3d scene", "a 3d rendering", "a render", "a synthetic scene")
_DISTANCE_PHRASES: dict[str, tuple[str, ...]] = {
    "near": ("the closest one is near", "near the camera", "with the closest object near"),
    "middle": (
        "the closest one is in the middle distance",
        "at middle distance",
        "with the closest object at middle distance",
    ),
    "far": ("the closest one is far", "far away", "far from the camera"),
}
_SINGULAR = {"spheres": "sphere", "cubes": "cube", "cylinders": "cylinder"}


class Scenes3D(Domain):
    """CLEVR-like 3-D renderings: how many objects, how far the closest one is, which shapes."""

    name = "scenes3d"
    description = (
        "CLEVR-like renderings of one to six spheres, cubes or cylinders in CLEVR's colours and materials "
        "on a grey floor in perspective; the count, the distance of the closest object and the shapes vary, "
        "and so do the horizon, camera tilt, lighting, shadows and positions."
    )
    attributes = {"count": COUNTS, "distance": DISTANCES, "shape": SHAPES}
    words = vocabulary(
        "a picture of an image photo",
        _KINDS,
        *_DISTANCE_PHRASES.values(),
        COUNTS,
        DISTANCES,
        SHAPES,
        _SINGULAR.values(),
        "of with showing objects object shapes only all just",
    )

    # -- sampling ------------------------------------------------------------------------------
    @staticmethod
    def valid(attrs: Mapping[str, str]) -> bool:
        """Whether the values go together (one object cannot be ``mixed``)."""
        return not (attrs.get("count") == "one" and attrs.get("shape") == "mixed")

    def sample(
        self, rng: np.random.Generator, constraints: Mapping[str, Sequence[str]] | None = None
    ) -> dict[str, str]:
        """Like :meth:`Domain.sample`, but never ``count = "one"`` with ``shape = "mixed"``."""
        constraints = dict(constraints or {})
        counts = tuple(constraints.get("count", COUNTS))
        shapes = tuple(constraints.get("shape", SHAPES))
        if tuple(counts) == ("one",) and tuple(shapes) == ("mixed",):
            raise ValueError("domain 'scenes3d': one object cannot have mixed shapes")
        attrs = super().sample(rng, constraints)
        if not self.valid(attrs):
            # Redraw the constrained-away half of the pair: shape if it may differ, else count.
            if len(shapes) > 1:
                options = [s for s in shapes if s != "mixed"]
                attrs["shape"] = options[int(rng.integers(len(options)))]
            else:
                options = [c for c in counts if c != "one"]
                attrs["count"] = options[int(rng.integers(len(options)))]
        return attrs

    # -- layout --------------------------------------------------------------------------------
    def _layout(self, attrs: Mapping[str, str], seed: int) -> tuple[dict, list[dict]]:
        """Scene parameters and the objects (screen geometry at the working resolution)."""
        if not self.valid(attrs):
            raise ValueError("domain 'scenes3d': one object cannot have mixed shapes (count='one', shape='mixed')")
        n = COUNTS.index(attrs["count"]) + 1
        lo, hi = _CLOSEST[attrs["distance"]]
        shape = attrs["shape"]
        rng = np.random.default_rng(seed)
        # scene nuisances (drawn first, in a fixed order, whatever the attributes)
        scene: dict[str, Any] = {
            "horizon": rng.uniform(0.16, 0.42),
            "soft": rng.uniform(0.03, 0.10),
            "floor": rng.uniform(0.32, 0.56),
            "wall_gain": rng.uniform(0.10, 0.26),
            "tint": (1.0 + rng.normal(0.0, 0.025, 3)).astype(np.float32),
            "phi": rng.uniform(0.50, 0.80),
            "azimuth": rng.uniform(0.3, 1.15) * (1.0 if rng.random() < 0.5 else -1.0),
            "elevation": rng.uniform(0.55, 1.10),
            "intensity": rng.uniform(0.70, 1.20),
            "ambient": rng.uniform(0.22, 0.38),
            "shadow": rng.uniform(0.35, 0.60),
            "floor_grad": rng.uniform(-0.12, 0.12),
            "noise": rng.uniform(0.003, 0.012),
        }
        colours = rng.integers(len(_PALETTE), size=_SLOTS)
        metal = rng.random(_SLOTS) < 0.45
        large = rng.random(_SLOTS) < 0.5
        kjit = rng.uniform(-1.0, 1.0, _SLOTS)
        theta = rng.uniform(0.0, math.pi / 2, _SLOTS)
        mixed = rng.integers(3, size=_SLOTS)
        mix_order = rng.permutation(3)
        u_close = rng.random()
        cand_x = rng.random((_SLOTS, _CANDIDATES))
        cand_t = rng.random((_SLOTS, _CANDIDATES))
        scene["seed_noise"] = int(rng.integers(2**31))

        if shape == "mixed":  # the first three objects all differ, the others are drawn at random
            kinds = [int(k) for k in mix_order] + [int(k) for k in mixed[3:]]
            kinds = kinds[:n]
        else:
            kinds = [SHAPES.index(shape)] * n

        yh = scene["horizon"] * _S
        floor_px = _S - yh
        t_close = lo + u_close * (hi - lo)
        objects: list[dict] = []
        for i in range(n):
            k = 0.45 + 0.03 * kjit[i] if large[i] else 0.33 + 0.02 * kjit[i]
            if i == 0:
                ts = np.array([t_close])
                xs_u = cand_x[0, :1]
            else:  # every other object at least as far as the closest
                ts = _T_MIN + cand_t[i] * (t_close - _T_MIN)
                xs_u = cand_x[i]
            for shrink in _SHRINK + (0.0,):  # the first placement that keeps every object visible; shrink if none
                if shrink == 0.0:  # last resort: the freest place on a grid, at the smallest size
                    shrink = _SHRINK[-1]
                    ts, xs_u = (g.ravel() for g in np.meshgrid(np.linspace(_T_MIN, t_close, 16), np.linspace(0, 1, 65)))
                yb = yh + ts * floor_px
                phi = scene["phi"] * (0.55 + 0.45 * ts)  # farther objects are seen at a shallower angle
                r = np.maximum(k * ts * floor_px * shrink, _R_MIN)
                xb = (r + _SS) + xs_u * (_S - 2 * r - 2 * _SS)
                cy = yb - r * np.cos(phi)
                best = 0
                if not objects:
                    break
                px = np.array([o["cx"] for o in objects])
                py = np.array([o["cy"] for o in objects])
                pr = np.array([o["r"] for o in objects])
                d = np.hypot(xb[:, None] - px[None], cy[:, None] - py[None])
                need = np.maximum(r[:, None], pr[None]) + _GAP * np.minimum(r[:, None], pr[None])
                clearance = (d / need).min(axis=1)
                ok = np.flatnonzero(clearance >= 1.0)
                best = int(ok[0]) if len(ok) else int(np.argmax(clearance))
                if len(ok):
                    break
            objects.append(
                {
                    "solid": _SOLIDS[kinds[i]],
                    "t": float(ts[best]),
                    "xb": float(xb[best]),
                    "yb": float(yb[best]),
                    "cx": float(xb[best]),
                    "cy": float(cy[best]),
                    "r": float(r[best]),
                    "phi": float(phi[best]),
                    "colour": _PALETTE[colours[i]],
                    "grey": float(_PALETTE[colours[i]].mean()),
                    "metal": bool(metal[i]),
                    "theta": float(theta[i]),
                }
            )
        return scene, objects

    # -- pixels --------------------------------------------------------------------------------
    def render(self, attrs: Mapping[str, str], seed: int, split: str = "eval") -> np.ndarray:
        check_split(split)
        scene, objects = self._layout(attrs, seed)
        yh = scene["horizon"] * _S
        # light, in camera space (x right, y up, z towards the camera)
        az, el = scene["azimuth"], scene["elevation"]
        light = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az) * 0.8 + 0.2])
        light /= np.linalg.norm(light)
        half = light + np.array([0.0, 0.0, 1.0])
        half /= np.linalg.norm(half)
        env = {"floor": scene["floor"], "wall": scene["floor"] + scene["wall_gain"]}

        # background: floor fading into a lighter wall at the horizon, lit from the light's side
        c = np.arange(_S, dtype=np.float32) + 0.5
        wall_w = 1.0 / (1.0 + np.exp((c - yh) / (scene["soft"] * _S)))
        rows = scene["floor"] * (1.0 - wall_w) + env["wall"] * wall_w
        rows = rows * (1.0 + 0.10 * (c / _S - 1.0)) * np.float32(scene["intensity"] ** 0.5)  # darker near the camera
        cols = 1.0 + np.float32(scene["floor_grad"] * np.sign(light[0])) * (c / _S - 0.5) * 2.0
        img = (rows[:, None] * cols[None, :])[None] * scene["tint"][:, None, None]  # channels first

        # shadows on the floor (all before any object: objects stand on them)
        phi0 = scene["phi"]
        ly_w = light[1] * math.cos(phi0) + light[2] * math.sin(phi0)
        lz_w = light[1] * math.sin(phi0) - light[2] * math.cos(phi0)
        reach = 0.9 / max(ly_w, 0.35)
        for o in objects:
            r, phi = o["r"], o["phi"]
            sx = -light[0] * r * reach
            sy = lz_w * r * reach * math.sin(phi)  # light from the camera side throws shadows backwards
            ax_ = r * 1.05 + 0.4 * abs(sx)
            ay_ = r * 1.05 * math.sin(phi) + 0.4 * abs(sy) + 1.0
            _soft_ellipse(img, o["xb"] + sx * 0.6, o["yb"] - abs(sy) * 0.6 + r * 0.1, ax_, ay_, scene["shadow"], 1.6)
            _soft_ellipse(img, o["xb"], o["yb"], r * 0.85, r * 0.85 * math.sin(phi) + 1.0, scene["shadow"] * 0.7, 2.5)

        shading = {
            "light": light,
            "half": half,
            "ambient": scene["ambient"],
            "kd": (1.0 - scene["ambient"]) * scene["intensity"],
            "env": env,
        }
        for o in sorted(objects, key=lambda o: o["t"]):
            if o["solid"] == "sphere":
                _sphere(img, o, shading)
            elif o["solid"] == "cube":
                _cube(img, o, shading)
            else:
                _cylinder(img, o, shading)

        half = img[:, 0::2] + img[:, 1::2]
        out = (0.25 * (half[:, :, 0::2] + half[:, :, 1::2])).transpose(1, 2, 0)
        noise_rng = np.random.default_rng(scene["seed_noise"])
        noise = noise_rng.standard_normal((IMAGE_SIZE, IMAGE_SIZE, 1), dtype=np.float32)
        out = out + scene["noise"] * (noise + 0.3 * noise[::-1, ::-1])
        return to_uint8(out)

    # -- words ---------------------------------------------------------------------------------
    def caption(self, attrs: Mapping[str, str], named: Sequence[str], rng: np.random.Generator) -> str:
        named = [a for a in self.attributes if a in set(named)]
        kind = _KINDS[int(rng.integers(len(_KINDS)))]
        count = attrs.get("count") if "count" in named else None
        shape = attrs.get("shape") if "shape" in named else None
        if count is not None and shape is not None:
            if shape == "mixed":
                subject = (f"{count} objects of mixed shapes", f"{count} mixed objects")[int(rng.integers(2))]
            elif count == "one":
                subject = (f"one object, all {shape}", f"one object, {shape} only")[int(rng.integers(2))]
            else:
                subject = f"{count} {shape}"
        elif count is not None:
            subject = "one object" if count == "one" else f"{count} objects"
        elif shape is not None:
            if shape == "mixed":
                subject = ("mixed shapes", "mixed objects", "objects of mixed shapes")[int(rng.integers(3))]
            else:
                subject = (shape, f"only {shape}", f"{shape} only", f"just {shape}")[int(rng.integers(4))]
        else:
            subject = ""
        if subject:
            text = f"{kind} {('of', 'with', 'showing')[int(rng.integers(3))]} {subject}"
        else:
            text = kind
        if "distance" in named:
            phrases = _DISTANCE_PHRASES[attrs["distance"]]
            phrase = phrases[int(rng.integers(len(phrases)))]
            text = f"{text}, {phrase}" if phrase.startswith(("the", "with")) else f"{text} {phrase}"
        return with_carrier(text, rng, _CARRIERS_3D)


# ----------------------------------------------------------------------------------------------
# drawing primitives (in place on the (3, S, S) float canvas, each over its bounding box only)


def _box(x0: float, x1: float, y0: float, y1: float):
    """Integer bounding box clipped to the canvas and its pixel-centre coordinates, or None."""
    i0, i1 = max(0, int(math.floor(x0))), min(_S, int(math.ceil(x1)) + 1)
    j0, j1 = max(0, int(math.floor(y0))), min(_S, int(math.ceil(y1)) + 1)
    if i0 >= i1 or j0 >= j1:
        return None
    xs = np.arange(i0, i1, dtype=np.float32) + 0.5
    ys = np.arange(j0, j1, dtype=np.float32) + 0.5
    return (slice(None), slice(j0, j1), slice(i0, i1)), xs[None, :], ys[:, None]


def _soft_ellipse(img: np.ndarray, cx: float, cy: float, ax: float, ay: float, strength: float, power: float) -> None:
    """Darken an ellipse softly (a shadow): img *= 1 - strength * (1 - q)^power inside it."""
    b = _box(cx - ax, cx + ax, cy - ay, cy + ay)
    if b is None:
        return
    sl, xs, ys = b
    q2 = ((xs - cx) * (1.0 / ax)) ** 2 + ((ys - cy) * (1.0 / ay)) ** 2
    f = 1.0 - strength * np.clip(1.0 - q2, 0.0, 1.0) ** power
    img[sl] *= f[None]


def _paint(img: np.ndarray, sl, colour: np.ndarray, alpha: np.ndarray) -> None:
    a = alpha[None]
    img[sl] = img[sl] * (1.0 - a) + colour * a


def _material(o: dict, sh: dict, ndotl, ndoth, up) -> np.ndarray:
    """Colour (3, ...) of a surface point from its lighting terms; ``up`` in [-1, 1] picks wall or floor
    in a metal's mirror image."""
    base = o["colour"][:, None, None]
    diff = sh["ambient"] + sh["kd"] * np.clip(ndotl, 0.0, 1.0)
    if o["metal"]:
        mirror = sh["env"]["floor"] + (sh["env"]["wall"] - sh["env"]["floor"]) * np.clip(0.5 + 0.8 * up, 0.0, 1.0)
        spec = 1.1 * sh["kd"] * np.clip(ndoth, 0.0, 1.0) ** 40
        col = base * (0.55 * diff)[None] + (0.35 * mirror * (0.4 + 0.6 * o["grey"]) + spec)[None]
    else:
        spec = 0.12 * sh["kd"] * np.clip(ndoth, 0.0, 1.0) ** 6
        col = base * diff[None] + spec[None]
    return col


def _sphere(img: np.ndarray, o: dict, sh: dict) -> None:
    cx, cy, r = o["cx"], o["cy"], o["r"]
    b = _box(cx - r - 1, cx + r + 1, cy - r - 1, cy + r + 1)
    if b is None:
        return
    sl, xs, ys = b
    dx = (xs - cx) / r
    dy = (cy - ys) / r  # up
    d2 = dx * dx + dy * dy
    alpha = np.clip((1.0 - np.sqrt(d2)) * r + 0.5, 0.0, 1.0)
    nz = np.sqrt(np.clip(1.0 - d2, 0.0, 1.0))
    L, H = sh["light"], sh["half"]
    ndotl = dx * L[0] + dy * L[1] + nz * L[2]
    ndoth = dx * H[0] + dy * H[1] + nz * H[2]
    up = 2 * dy * nz  # direction of the reflected view ray, roughly
    _paint(img, sl, _material(o, sh, ndotl, ndoth, up), alpha)


def _polygon_alpha(xs, ys, pts: np.ndarray, grow: float = 0.5) -> np.ndarray:
    """Coverage of a convex polygon (soft 1-px edges, grown by ``grow`` px so faces meet)."""
    area = 0.5 * sum(pts[i, 0] * pts[i - 1, 1] - pts[i - 1, 0] * pts[i, 1] for i in range(len(pts)))
    if area < 0:
        pts = pts[::-1]
    inside: Any = None
    for i in range(len(pts)):
        (x0, y0), (x1, y1) = pts[i - 1], pts[i]
        ex, ey = x1 - x0, y1 - y0
        norm = math.hypot(ex, ey) or 1.0
        d = ((xs - x0) * ey - (ys - y0) * ex) / norm
        inside = d if inside is None else np.minimum(inside, d)
    return np.clip(inside + grow, 0.0, 1.0)


def _cube_faces() -> list[tuple[tuple[int, int, int], np.ndarray]]:
    """The unit cube's faces (half-size 1, standing on the floor): outward normal, 4 corners in order."""
    out = []
    for nx, ny, nz in ((0, 1, 0), (1, 0, 0), (-1, 0, 0), (0, 0, 1), (0, 0, -1)):
        n = np.array([nx, ny, nz], dtype=float)
        t1 = np.array([ny, nz, nx], dtype=float)
        t2 = np.cross(n, t1)
        centre = n + np.array([0.0, 1.0, 0.0])
        out.append(((nx, ny, nz), np.stack([centre + t1 + t2, centre - t1 + t2, centre - t1 - t2, centre + t1 - t2])))
    return out


_CUBE_FACES = _cube_faces()


def _cube(img: np.ndarray, o: dict, sh: dict) -> None:
    h = 0.72 * o["r"]
    phi, th = o["phi"], o["theta"]
    cphi, sphi = math.cos(phi), math.sin(phi)
    ct, st = math.cos(th), math.sin(th)

    def project(p):  # world (X right, Y up, Z away) around the cube's foot -> screen
        x, y, z = p[..., 0], p[..., 1], p[..., 2]
        xr, zr = x * ct - z * st, x * st + z * ct
        return np.stack([o["xb"] + xr, o["yb"] - (y * cphi + zr * sphi)], axis=-1)

    faces = []
    for (nx, ny, nz), corners in _CUBE_FACES:
        wn = (nx * ct - nz * st, ny, nx * st + nz * ct)  # rotated normal, world
        cam_n = np.array([wn[0], wn[1] * cphi + wn[2] * sphi, wn[1] * sphi - wn[2] * cphi])
        if cam_n[2] <= 0.02:
            continue
        faces.append((cam_n, project(corners * h)))
    allpts = np.concatenate([f[1] for f in faces])
    b = _box(allpts[:, 0].min() - 1, allpts[:, 0].max() + 1, allpts[:, 1].min() - 1, allpts[:, 1].max() + 1)
    if b is None:
        return
    sl, xs, ys = b
    L, H = sh["light"], sh["half"]
    for cam_n, pts in faces:
        alpha = _polygon_alpha(xs, ys, pts)
        # a gentle gradient down each face (light falls off towards the floor), plus flat lighting
        grad = np.clip((ys - pts[:, 1].min()) / max(float(np.ptp(pts[:, 1])), 1.0), 0.0, 1.0)
        ndotl = float(cam_n @ L) - 0.12 * grad
        ndoth = float(cam_n @ H) - 0.05 * grad
        up = cam_n[1] - 0.6 * grad
        _paint(img, sl, _material(o, sh, np.asarray(ndotl), np.asarray(ndoth), np.asarray(up)), alpha)


def _cylinder(img: np.ndarray, o: dict, sh: dict) -> None:
    rc = 0.84 * o["r"]
    phi = o["phi"]
    cphi, sphi = math.cos(phi), math.sin(phi)
    hc = 1.75 * rc
    xb, yb = o["xb"], o["yb"]
    ytop = yb - hc * cphi
    be = max(rc * sphi, 0.8)
    b = _box(xb - rc - 1, xb + rc + 1, ytop - be - 1, yb + be + 1)
    if b is None:
        return
    sl, xs, ys = b
    L, H = sh["light"], sh["half"]
    u = np.clip((xs - xb) / rc, -1.0, 1.0)
    w = np.sqrt(1.0 - u * u)
    # body: columns shaded by the normal (u, -w sin phi, w cos phi) in camera space
    ybot = yb + be * w
    alpha = np.clip(rc - np.abs(xs - xb) + 0.5, 0.0, 1.0)
    alpha = alpha * np.clip(ybot - ys + 0.5, 0.0, 1.0) * np.clip(ys - ytop + 0.5, 0.0, 1.0)
    n_y, n_z = -w * sphi, w * cphi
    grad = np.clip((ys - ytop) / max(yb - ytop, 1.0), 0.0, 1.0)
    ndotl = u * L[0] + n_y * L[1] + n_z * L[2] - 0.1 * grad
    ndoth = u * H[0] + n_y * H[1] + n_z * H[2]
    _paint(img, sl, _material(o, sh, ndotl + 0 * ys, ndoth + 0 * ys, n_y - 0.5 * grad), alpha)
    # top: a flat ellipse facing up
    q = np.sqrt(((xs - xb) / rc) ** 2 + ((ys - ytop) / be) ** 2)
    alpha = np.clip((1.0 - q) * be + 0.5, 0.0, 1.0)
    top_n = np.array([0.0, cphi, sphi])
    col = _material(o, sh, np.asarray(float(top_n @ L)), np.asarray(float(top_n @ H)), np.asarray(0.9))
    _paint(img, sl, col * (1.0 + 0.05 * (1.0 - q[None])), alpha)
