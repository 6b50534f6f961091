"""The mini tasks: labelled image classification datasets over the mini world's domains, LOVM style.

A task asks one question about the pictures of one domain (:mod:`vlmsel.mini.domains`): which digit,
which land use, how many objects. Like LOVM, which has two satellite datasets, three ImageNet-like
photograph sets and two CLEVR tasks, most domains carry two or three tasks (the same question on another
sub-style, as MNIST and SVHN, or another question on the same kind of picture, as CLEVR count and
distance), and two domains carry one (``dtd``, ``fer``), so their targets have no source of their
own domain. ``broad`` plays ImageNet's role for the INB baseline: 16 classes of every domain.

A class is a :class:`ClassSpec`: a domain and the attribute values its pictures must have. The
evaluation split of a task is ``n`` pictures (default 1,000) with balanced labels (class sizes differ
by at most one), drawn from a seed derived from the task name, so it is the same on every machine
and disjoint from pretraining (pretraining uses other seeds and split ``"train"``).
Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from vlmsel.mini.domains import DOMAINS, IMAGE_SIZE, get_domain

DEFAULT_N_IMAGES = 1000
"""Pictures in a task's evaluation split."""


@dataclass(frozen=True)
class ClassSpec:
    """The pictures of one class: ``domain`` and the allowed values of some of its attributes."""

    domain: str
    constraints: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @classmethod
    def of(cls, domain: str, **constraints: str | tuple[str, ...]) -> "ClassSpec":
        return cls(domain, tuple((a, (v,) if isinstance(v, str) else tuple(v)) for a, v in constraints.items()))

    def constraint_dict(self) -> dict[str, tuple[str, ...]]:
        return dict(self.constraints)


@dataclass(frozen=True)
class MiniTask:
    """A labelled task: pictures of class ``k`` are drawn from ``classes[k]`` and named ``classnames[k]``."""

    name: str
    domain: str
    """The domain of every class (``"mixed"`` for the broad task)."""
    question: str
    like: str
    """The LOVM dataset this task imitates."""
    classnames: tuple[str, ...]
    templates: tuple[str, ...]
    classes: tuple[ClassSpec, ...]

    @property
    def n_classes(self) -> int:
        return len(self.classnames)

    @property
    def description(self) -> str:
        return f"{self.question} ({self.domain}; like {self.like}; {self.n_classes} classes)"

    def prompts(self) -> list[list[str]]:
        """Per class, every template filled with the class name: ``[[t.format(c=c) for t]...]``."""
        return [[t.format(c=c) for t in self.templates] for c in self.classnames]

    def __post_init__(self) -> None:
        if len(self.classnames) != len(self.classes):
            raise ValueError(f"task {self.name!r}: {len(self.classnames)} class names for {len(self.classes)} classes")
        for spec in self.classes:
            dom = get_domain(spec.domain)
            for attr, values in spec.constraints:
                if attr not in dom.attributes or not set(values) <= set(dom.attributes[attr]):
                    raise ValueError(f"task {self.name!r}: domain {spec.domain!r} has no {attr} in {values}")


@dataclass(frozen=True)
class Picture:
    """What one generated picture is: its domain, attribute values and nuisance seed."""

    domain: str
    attrs: tuple[tuple[str, str], ...]
    seed: int
    split: str = "eval"

    def render(self) -> np.ndarray:
        return get_domain(self.domain).render(dict(self.attrs), self.seed, self.split)


@dataclass(frozen=True)
class TaskData:
    """The evaluation split of a task: ``images`` uint8 (N, 64, 64, 3), ``labels`` int64 (N,)."""

    task: MiniTask
    images: np.ndarray
    labels: np.ndarray
    pictures: tuple[Picture, ...]
    image_ids: tuple[str, ...]
    seed: int

    @property
    def name(self) -> str:
        return self.task.name

    @property
    def classnames(self) -> list[str]:
        return list(self.task.classnames)

    @property
    def templates(self) -> list[str]:
        return list(self.task.templates)

    def __len__(self) -> int:
        return len(self.labels)


def _per_value(domain: str, attr: str, values, **fixed) -> tuple[ClassSpec, ...]:
    return tuple(ClassSpec.of(domain, **{attr: v}, **fixed) for v in values)


def _build_tasks() -> dict[str, MiniTask]:
    d = {name: dom.attributes for name, dom in DOMAINS.items()}
    T: list[MiniTask] = []

    digits = d["handwriting"]["digit"]
    T.append(
        MiniTask(
            "mnist",
            "handwriting",
            "which handwritten digit, in ink on paper?",
            "MNIST",
            digits,
            (
                "a handwritten digit {c}.",
                "a photo of the digit {c}.",
                "the number {c} in ink on paper.",
                "a picture of a handwritten {c}.",
            ),
            _per_value("handwriting", "digit", digits, style="ink"),
        )
    )
    T.append(
        MiniTask(
            "svhn",
            "handwriting",
            "which digit is on the house-number plate?",
            "SVHN",
            digits,
            (
                "a photo of the number {c} on a house plate.",
                "the digit {c}.",
                "a house number {c}.",
                "an image of the number {c}.",
            ),
            _per_value("handwriting", "digit", digits, style="plate"),
        )
    )

    letters = d["text"]["letter"]
    T.append(
        MiniTask(
            "letters",
            "text",
            "which letter (any font, either case)?",
            "rendered SST2 (text)",
            letters,
            (
                "the letter {c}.",
                "a rendering of the letter {c}.",
                "an image of the letter {c} in a font.",
                "a picture of the letter {c}.",
            ),
            _per_value("text", "letter", letters),
        )
    )
    fonts = d["text"]["font"]
    T.append(
        MiniTask(
            "fonts",
            "text",
            "which typeface (any letter)?",
            "rendered SST2 (text)",
            fonts,
            (
                "a letter in a {c} font.",
                "a rendering of a letter in a {c} font.",
                "text in a {c} font.",
                "an image of a {c} font.",
            ),
            _per_value("text", "font", fonts),
        )
    )

    textures = d["textures"]["texture"]
    T.append(
        MiniTask(
            "dtd",
            "textures",
            "which texture?",
            "DTD",
            textures,
            (
                "a photo of a {c} texture.",
                "a {c} pattern.",
                "a close up of a {c} surface.",
                "an image of a {c} texture.",
            ),
            _per_value("textures", "texture", textures),
        )
    )

    lands = d["aerial"]["land"]
    T.append(
        MiniTask(
            "eurosat",
            "aerial",
            "which land use, in a low-resolution satellite image?",
            "EuroSAT",
            lands,
            (
                "a satellite image of {c}.",
                "a satellite photo of {c}.",
                "a centered satellite image of {c}.",
                "a picture of {c} from a satellite.",
            ),
            _per_value("aerial", "land", lands, sensor="satellite"),
        )
    )
    T.append(
        MiniTask(
            "resisc",
            "aerial",
            "which land use, in a sharp aerial photo?",
            "RESISC45",
            lands,
            (
                "an aerial photo of {c}.",
                "an aerial image of {c}.",
                "a photo of {c} from above.",
                "an aerial picture of {c}.",
            ),
            _per_value("aerial", "land", lands, sensor="aerial"),
        )
    )

    counts = d["scenes3d"]["count"]
    T.append(
        MiniTask(
            "clevr_count",
            "scenes3d",
            "how many objects?",
            "CLEVR count",
            counts,
            (
                "a rendered scene with {c} objects.",
                "a rendering of {c} objects.",
                "a 3d scene with {c} objects.",
                "a picture of {c} objects.",
            ),
            _per_value("scenes3d", "count", counts),
        )
    )
    distances = d["scenes3d"]["distance"]
    T.append(
        MiniTask(
            "clevr_distance",
            "scenes3d",
            "how far is the closest object?",
            "CLEVR closest-object distance",
            distances,
            (
                "a rendered scene, the closest object is {c}.",
                "a 3d scene with objects {c}.",
                "a rendering, the closest one is {c}.",
                "a picture of objects {c}.",
            ),
            _per_value("scenes3d", "distance", distances),
        )
    )
    shapes = tuple(s for s in d["scenes3d"]["shape"] if s != "mixed")
    T.append(
        MiniTask(
            "clevr_shape",
            "scenes3d",
            "spheres, cubes or cylinders?",
            "CLEVR (shape)",
            shapes,
            ("a rendered scene of {c}.", "a rendering of {c}.", "a 3d scene with {c}.", "a picture of {c}."),
            _per_value("scenes3d", "shape", shapes),
        )
    )

    expressions = d["faces"]["expression"]
    T.append(
        MiniTask(
            "fer",
            "faces",
            "which facial expression?",
            "FER2013",
            expressions,
            (
                "a photo of a {c} face.",
                "a photo of a person looking {c}.",
                "a {c} face.",
                "a black and white photo of a {c} face.",
            ),
            _per_value("faces", "expression", expressions),
        )
    )

    signs = d["signs"]["sign"]
    T.append(
        MiniTask(
            "gtsrb",
            "signs",
            "which traffic sign?",
            "GTSRB",
            tuple(f"{s} sign" for s in signs),
            ("a photo of a {c}.", "a traffic sign: {c}.", "a photo of a traffic sign, a {c}.", "an image of a {c}."),
            _per_value("signs", "sign", signs),
        )
    )
    arrows = ("turn left", "turn right", "ahead only", "keep right")
    T.append(
        MiniTask(
            "sign_arrows",
            "signs",
            "which way does the blue sign point?",
            "GTSRB (arrows)",
            arrows,
            ("a traffic sign: {c}.", "a photo of a {c} sign.", "a blue traffic sign, {c}.", "a sign: {c}."),
            _per_value("signs", "sign", arrows),
        )
    )
    limits = d["signs"]["limit"]
    T.append(
        MiniTask(
            "speed_limits",
            "signs",
            "which speed limit?",
            "GTSRB (speed limits)",
            limits,
            (
                "a speed limit sign of {c}.",
                "a photo of a traffic sign with a speed limit of {c}.",
                "a speed limit of {c}.",
                "a photo of a speed limit sign, {c}.",
            ),
            _per_value("signs", "limit", limits, sign="speed limit"),
        )
    )

    tissues = d["cells"]["tissue"]
    T.append(
        MiniTask(
            "pcam",
            "cells",
            "normal or tumour tissue?",
            "PCam",
            tuple(f"{t} tissue" for t in tissues),
            (
                "a histology slide of {c}.",
                "a microscope image of {c}.",
                "a histology image of {c}.",
                "a photo of {c} under a microscope.",
            ),
            _per_value("cells", "tissue", tissues, style="histology"),
        )
    )
    cells = d["cells"]["cell"]
    T.append(
        MiniTask(
            "blood_cells",
            "cells",
            "which white blood cell?",
            "blood-cell datasets (medical)",
            cells,
            (
                "a blood smear with a {c}.",
                "a microscope image of a {c}.",
                "a microscope photo of a {c} in a blood smear.",
                "a picture of a {c}.",
            ),
            _per_value("cells", "cell", cells, style="smear"),
        )
    )

    broad = (
        ("handwritten three", ClassSpec.of("handwriting", digit="three")),
        ("handwritten seven", ClassSpec.of("handwriting", digit="seven")),
        ("letter g", ClassSpec.of("text", letter="g")),
        ("letter k", ClassSpec.of("text", letter="k")),
        ("striped texture", ClassSpec.of("textures", texture="striped")),
        ("dotted texture", ClassSpec.of("textures", texture="dotted")),
        ("forest", ClassSpec.of("aerial", land="forest")),
        ("river", ClassSpec.of("aerial", land="river")),
        ("cubes", ClassSpec.of("scenes3d", shape="cubes")),
        ("spheres", ClassSpec.of("scenes3d", shape="spheres")),
        ("happy face", ClassSpec.of("faces", expression="happy")),
        ("sad face", ClassSpec.of("faces", expression="sad")),
        ("stop sign", ClassSpec.of("signs", sign="stop")),
        ("yield sign", ClassSpec.of("signs", sign="yield")),
        ("tumour tissue", ClassSpec.of("cells", style="histology", tissue="tumour")),
        ("lymphocyte", ClassSpec.of("cells", style="smear", cell="lymphocyte")),
    )
    T.append(
        MiniTask(
            "broad",
            "mixed",
            "the broad task (ImageNet's role): 16 kinds of picture from every domain",
            "ImageNet",
            tuple(n for n, _ in broad),
            ("a photo of a {c}.", "a picture of a {c}.", "an image of a {c}.", "a {c}."),
            tuple(s for _, s in broad),
        )
    )
    return {t.name: t for t in T}


TASKS: dict[str, MiniTask] = _build_tasks()
"""Every mini task by name, in the book's order (grouped by domain, ``broad`` last)."""

BROAD_TASK = "broad"
"""The task that plays ImageNet's role (the INB baseline ranks models by it)."""


def list_tasks() -> list[str]:
    """Names of the mini tasks, in a fixed order."""
    return list(TASKS)


def get_task(name: str) -> MiniTask:
    """The task called ``name``; a clear error lists the valid names."""
    try:
        return TASKS[name]
    except KeyError:
        raise KeyError(f"unknown mini task {name!r}; mini tasks: {list(TASKS)}") from None


def task_domain(name: str) -> str:
    """The image domain of a task (``"mixed"`` for ``broad``)."""
    return get_task(name).domain


def task_classnames(name: str) -> list[str]:
    """Class names of a task, in label order (as ``vlmsel.data.lovm.lovm_classnames``)."""
    return list(get_task(name).classnames)


def task_templates(name: str) -> list[str]:
    """Prompt templates of a task, each with ``{c}`` (as ``vlmsel.data.lovm.lovm_templates``)."""
    return list(get_task(name).templates)


def task_seed(name: str, seed: int = 0) -> int:
    """The generator seed of a task's evaluation split: stable across machines and Python runs."""
    return (zlib.crc32(name.encode()) + 1_000_003 * int(seed)) % (2**31 - 1)


def sample_pictures(task: MiniTask, labels: np.ndarray, rng: np.random.Generator, split: str = "eval") -> list[Picture]:
    """One picture description per label: attribute values drawn under the class's constraints and a seed."""
    out = []
    for k in labels:
        spec = task.classes[int(k)]
        dom = get_domain(spec.domain)
        attrs = dom.sample(rng, spec.constraint_dict())
        seed = int(rng.integers(2**31 - 1))
        out.append(Picture(spec.domain, tuple(attrs.items()), seed, split))
    return out


def render_pictures(pictures: list[Picture]) -> np.ndarray:
    """Pixels of many pictures, uint8 (n, 64, 64, 3).

    numpy's BLAS is held to one thread meanwhile: the generators' small matrix products run 100x slower
    when OpenBLAS spreads them over busy cores (measured: 10-30 ms against 0.06 ms for a 64 x 64 product).
    """
    from threadpoolctl import threadpool_limits

    out = np.empty((len(pictures), IMAGE_SIZE, IMAGE_SIZE, 3), dtype=np.uint8)
    with threadpool_limits(1):
        for i, p in enumerate(pictures):
            out[i] = p.render()
    return out


def make_task_data(name: str, n: int = DEFAULT_N_IMAGES, seed: int = 0) -> TaskData:
    """Generate the evaluation split of task ``name``: ``n`` pictures with balanced, shuffled labels.

    Labels cycle through the classes (every class has ``n // C`` or one more pictures) and are then
    shuffled; each picture is drawn from its class's spec. Deterministic in ``(name, n, seed)``; image
    ids are ``"<task>-<seed>-<index>"``.
    """
    task = get_task(name)
    if n < 1:
        raise ValueError(f"make_task_data({name!r}): n must be >= 1, got {n}")
    rng = np.random.default_rng(task_seed(name, seed))
    labels = rng.permutation(np.arange(n) % task.n_classes).astype(np.int64)
    pictures = tuple(sample_pictures(task, labels, rng))
    images = render_pictures(list(pictures))
    ids = tuple(f"{name}-{seed}-{i:05d}" for i in range(n))
    return TaskData(task=task, images=images, labels=labels, pictures=pictures, image_ids=ids, seed=seed)
