"""The mini task registry and the generated evaluation splits."""

import numpy as np
import pytest

from vlmsel.mini.scenes import COUNT_WORDS, DIGIT_WORDS, POSITIONS, SIZES
from vlmsel.mini.tasks import (
    BROAD_TASK,
    TASKS,
    get_task,
    list_tasks,
    make_task_data,
    task_classnames,
    task_templates,
)

N = 48


def test_registry_form():
    names = list_tasks()
    assert len(names) >= 10 and len(set(names)) == len(names) and BROAD_TASK in names
    for name in names:
        t = get_task(name)
        assert t.n_classes >= 3 and len(set(t.classnames)) == t.n_classes
        assert len(t.class_dists) == t.n_classes
        assert t.templates and all("{c}" in tpl for tpl in t.templates)
        assert task_classnames(name) == list(t.classnames) and task_templates(name) == list(t.templates)
    assert get_task(BROAD_TASK).n_classes == max(get_task(n).n_classes for n in names)


def test_unknown_task_names_the_choices():
    with pytest.raises(KeyError, match="imagenet.*shapes"):
        get_task("imagenet")
    with pytest.raises(ValueError, match="n must be"):
        make_task_data("shapes", n=0)


def test_same_seed_same_data_other_seed_other_data():
    a, b = make_task_data("count", n=N), make_task_data("count", n=N)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert a.image_ids == b.image_ids and a.image_ids[0] == "count-0-00000"
    c = make_task_data("count", n=N, seed=1)
    assert not np.array_equal(a.images, c.images)


def test_labels_are_balanced():
    d = make_task_data("colours", n=50)
    counts = np.bincount(d.labels, minlength=8)
    assert counts.max() - counts.min() <= 1 and counts.sum() == 50


def _attribute(task: str, s):
    return {
        "shapes": lambda: s.shapes[0], "clutter": lambda: s.shapes[0], "sketch": lambda: s.shapes[0],
        "colours": lambda: s.colours[0], "count": lambda: COUNT_WORDS[s.count],
        "textures": lambda: s.background, "orientation": lambda: f"{s.orientation} stripes",
        "size": lambda: s.size, "digits": lambda: DIGIT_WORDS[s.digit],
        "position": lambda: {"left": "on the left", "right": "on the right", "top": "at the top",
                             "bottom": "at the bottom", "middle": "in the middle"}[s.position],
        "shape_colour": lambda: f"{s.colours[0]} {s.shapes[0]}",
        "broad": lambda: s.shapes[0] if s.digit is None else f"digit {DIGIT_WORDS[s.digit]}",
    }[task]()


@pytest.mark.parametrize("task", list(TASKS))
def test_labels_describe_the_scenes(task):
    d = make_task_data(task, n=N)
    assert d.images.shape == (N, 64, 64, 3) and d.images.dtype == np.uint8
    for s, y in zip(d.scenes, d.labels):
        assert _attribute(task, s) == d.classnames[y]
    if task == "sketch":
        assert all(o.outline for s in d.scenes for o in s.objects)
    if task in ("digits", "broad", "textures", "orientation"):
        assert all(s.digit_index is None or s.digit_index >= 1200 for s in d.scenes)  # held-out digits only


def test_every_task_has_its_own_images():
    """Profiles only see images: no two tasks may share an image distribution (here: pixel statistics)."""
    stats = {}
    for t in list_tasks():
        x = make_task_data(t, n=N).images.astype(float) / 255
        gray = x.mean(-1)
        stats[t] = np.array([x.mean(), x.std(), np.abs(np.diff(gray, axis=1)).mean(), np.abs(np.diff(gray, axis=2)).mean()])
    names = list(stats)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert np.abs(stats[a] - stats[b]).max() > 1e-3, (a, b)
    assert set(SIZES) == set(get_task("size").classnames) and len(POSITIONS) == get_task("position").n_classes
