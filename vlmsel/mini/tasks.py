"""The mini tasks: labelled image classification datasets of generated scenes, LOVM style.

Each task has class names and prompt templates (with ``{c}``) exactly like a LOVM dataset, and its
*own image distribution*: one :class:`~vlmsel.mini.scenes.SceneDistribution` per class. (A label-free
conductance profile only sees images, so two tasks that merely relabel the same images would have
the same profile; every task here draws different images.) ``broad`` plays ImageNet's role for the
INB baseline: many classes of several kinds (shapes and digits) on every background.

The evaluation split of a task is ``n`` images (default 500) with balanced labels, generated from a
seed derived from the task name, so it is the same on every machine and disjoint from pretraining
(pretraining uses other seeds and the "train" digits only). Taught in the chapter :ref:`ch-mini-world`.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from vlmsel.mini.scenes import (
    BACKGROUNDS,
    COLOURS,
    COUNT_WORDS,
    DIGIT_WORDS,
    ORIENTATIONS,
    POSITIONS,
    SHAPES,
    SIZES,
    Scene,
    SceneDistribution,
    render_batch,
    sample_scene,
)

DEFAULT_N_IMAGES = 500
"""Images in a task's evaluation split."""


@dataclass(frozen=True)
class MiniTask:
    """A labelled task: ``classnames[k]`` is the label of scenes drawn from ``class_dists[k]``."""

    name: str
    description: str
    classnames: tuple[str, ...]
    templates: tuple[str, ...]
    class_dists: tuple[SceneDistribution, ...]

    @property
    def n_classes(self) -> int:
        return len(self.classnames)

    def prompts(self) -> list[list[str]]:
        """Per class, every template filled with the class name: ``[[t.format(c=c) for t]...]``."""
        return [[t.format(c=c) for t in self.templates] for c in self.classnames]


@dataclass(frozen=True)
class TaskData:
    """The evaluation split of a task: ``images`` uint8 (N, 64, 64, 3), ``labels`` int64 (N,)."""

    task: MiniTask
    images: np.ndarray
    labels: np.ndarray
    scenes: tuple[Scene, ...]
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


def _per_value(base: SceneDistribution, attr: str, values) -> tuple[SceneDistribution, ...]:
    return tuple(base.fix(**{attr: (v,)}) for v in values)


def _build_tasks() -> dict[str, MiniTask]:
    tasks: list[MiniTask] = []

    shapes_base = SceneDistribution(
        counts=(1,), sizes=("medium", "large"), backgrounds=("plain", "dotted", "grid"), colour_jitter=0.08
    )
    tasks.append(MiniTask(
        "shapes", "one medium or large shape on a plain, dotted or grid background: which shape?",
        SHAPES,
        ("a {c}.", "a picture of a {c}.", "a drawing of a {c}.", "an image of a {c}."),
        _per_value(shapes_base, "shapes", SHAPES),
    ))

    colours_base = SceneDistribution(
        counts=(1, 2), sizes=("small", "medium"), colour_jitter=0.12, texture_contrast=(0.2, 0.35)
    )
    tasks.append(MiniTask(
        "colours", "one or two small shapes of one colour on any background, colours jittered: which colour?",
        tuple(COLOURS),
        ("a {c} object.", "a picture of a {c} shape.", "a photo of {c} objects.", "a drawing of a {c} shape."),
        _per_value(colours_base, "colours", tuple(COLOURS)),
    ))

    count_base = SceneDistribution(
        counts=(1,), sizes=("small", "medium"), backgrounds=("plain", "noisy", "checkered"), pixel_noise=(0.02, 0.06)
    )
    tasks.append(MiniTask(
        "count", "one to four identical shapes on a plain, noisy or checkered background: how many?",
        tuple(COUNT_WORDS.values()),
        ("{c} shapes.", "a picture of {c} objects.", "an image of {c} shapes.", "a photo of {c} objects."),
        _per_value(count_base, "counts", tuple(COUNT_WORDS)),
    ))

    texture_base = SceneDistribution(
        counts=(1, 2), sizes=("small", "medium"), digit_prob=0.2, digit_pool="test", texture_contrast=(0.1, 0.22)
    )
    tasks.append(MiniTask(
        "textures", "a low-contrast background texture behind shapes or a digit: which texture?",
        BACKGROUNDS,
        ("a {c} background.", "a shape on a {c} background.", "a picture of a {c} background.",
         "a photo of an object on a {c} background."),
        _per_value(texture_base, "backgrounds", BACKGROUNDS),
    ))

    orient_base = SceneDistribution(
        counts=(1, 2, 3), backgrounds=("striped",), digit_prob=0.3, digit_pool="test", texture_contrast=(0.12, 0.3)
    )
    tasks.append(MiniTask(
        "orientation", "a striped background partly hidden by shapes or a digit: which stripe orientation?",
        tuple(f"{o} stripes" for o in ORIENTATIONS),
        ("a background with {c}.", "a picture of {c}.", "a shape on a background with {c}.", "{c}."),
        _per_value(orient_base, "orientations", tuple(ORIENTATIONS)),
    ))

    size_base = SceneDistribution(counts=(1,), texture_contrast=(0.2, 0.35))
    tasks.append(MiniTask(
        "size", "one shape anywhere on any background: small, medium or large?",
        tuple(SIZES),
        ("a {c} shape.", "a picture of a {c} object.", "a {c} object on a background.", "an image of a {c} shape."),
        _per_value(size_base, "sizes", tuple(SIZES)),
    ))

    pos_base = SceneDistribution(counts=(1,), sizes=("small", "medium"), position_jitter=6.0)
    position_names = ("on the left", "on the right", "at the top", "at the bottom", "in the middle")
    tasks.append(MiniTask(
        "position", "one small or medium shape near one of five anchors: where is it?",
        position_names,
        ("a shape {c}.", "a picture of an object {c}.", "an image of a shape {c}.", "a photo of an object {c}."),
        _per_value(pos_base, "positions", tuple(POSITIONS)),
    ))

    digit_base = SceneDistribution(digit_prob=1.0, digit_pool="test", digit_scale=(24.0, 40.0))
    tasks.append(MiniTask(
        "digits", "one handwritten digit (held-out scikit-learn digits) on any background: which digit?",
        DIGIT_WORDS,
        ("the digit {c}.", "a picture of the number {c}.", "a handwritten {c}.", "a photo of the digit {c}."),
        _per_value(digit_base, "digits", tuple(range(10))),
    ))

    fine_shapes, fine_colours = ("circle", "square", "triangle", "diamond"), ("red", "orange", "pink", "purple")
    fine_base = SceneDistribution(
        counts=(1,), sizes=("small", "medium"), backgrounds=("plain", "dotted", "striped"), colour_jitter=0.1
    )
    tasks.append(MiniTask(
        "shape_colour", "one small shape in one of four similar colours: which colour and shape (16 classes)?",
        tuple(f"{c} {s}" for s in fine_shapes for c in fine_colours),
        ("a {c}.", "a picture of a {c}.", "a photo of a {c}.", "a drawing of a {c}."),
        tuple(fine_base.fix(shapes=(s,), colours=(c,)) for s in fine_shapes for c in fine_colours),
    ))

    broad_shape = SceneDistribution(counts=(1, 2, 3), same_colour=False)
    broad_digit = SceneDistribution(digit_prob=1.0, digit_pool="test")
    tasks.append(MiniTask(
        "broad", "the broad task (ImageNet's role): 6 shapes and 10 digits on every background (16 classes)",
        SHAPES + tuple(f"digit {w}" for w in DIGIT_WORDS),
        ("a picture of a {c}.", "a photo of a {c}.", "an image of a {c}.", "a drawing of a {c}."),
        _per_value(broad_shape, "shapes", SHAPES) + _per_value(broad_digit, "digits", tuple(range(10))),
    ))

    sketch_base = SceneDistribution(
        counts=(1,), sizes=("medium", "large"), backgrounds=("plain",), outline_prob=1.0, bg_level=(0.55, 0.85)
    )
    tasks.append(MiniTask(
        "sketch", "one shape drawn as an outline on a light plain background (a domain shift): which shape?",
        SHAPES,
        ("a drawing of a {c}.", "an outline {c}.", "a {c} outline.", "a picture of a {c}."),
        _per_value(sketch_base, "shapes", SHAPES),
    ))

    clutter_base = SceneDistribution(
        counts=(1, 2), sizes=("small",), backgrounds=("striped", "checkered", "grid", "noisy"),
        texture_contrast=(0.3, 0.45), pixel_noise=(0.04, 0.08),
    )
    tasks.append(MiniTask(
        "clutter", "one or two small shapes on a busy high-contrast texture with strong noise: which shape?",
        SHAPES,
        ("a {c}.", "a picture of a {c}.", "an image of a {c}.", "a photo of a {c}."),
        _per_value(clutter_base, "shapes", SHAPES),
    ))
    return {t.name: t for t in tasks}


TASKS: dict[str, MiniTask] = _build_tasks()
"""Every mini task by name, in the book's order."""

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


def task_classnames(name: str) -> list[str]:
    """Class names of a task, in label order (as ``vlmsel.data.lovm.lovm_classnames``)."""
    return list(get_task(name).classnames)


def task_templates(name: str) -> list[str]:
    """Prompt templates of a task, each with ``{c}`` (as ``vlmsel.data.lovm.lovm_templates``)."""
    return list(get_task(name).templates)


def task_seed(name: str, seed: int = 0) -> int:
    """The generator seed of a task's evaluation split: stable across machines and Python runs."""
    return (zlib.crc32(name.encode()) + 1_000_003 * int(seed)) % (2**31 - 1)


def make_task_data(name: str, n: int = DEFAULT_N_IMAGES, seed: int = 0) -> TaskData:
    """Generate the evaluation split of task ``name``: ``n`` images with balanced, shuffled labels.

    Labels cycle through the classes (so every class has ``n // C`` or one more images) and are then
    shuffled; each image is a scene drawn from its class's distribution. Deterministic in
    ``(name, n, seed)``; image ids are ``"<task>-<seed>-<index>"``.
    """
    task = get_task(name)
    if n < 1:
        raise ValueError(f"make_task_data({name!r}): n must be >= 1, got {n}")
    rng = np.random.default_rng(task_seed(name, seed))
    labels = rng.permutation(np.arange(n) % task.n_classes).astype(np.int64)
    scenes = tuple(sample_scene(rng, task.class_dists[k]) for k in labels)
    images = render_batch(list(scenes))
    ids = tuple(f"{name}-{seed}-{i:05d}" for i in range(n))
    return TaskData(task=task, images=images, labels=labels, scenes=scenes, image_ids=ids, seed=seed)
