"""The mini world's generated scenes and captions: determinism, geometry, labels in words."""

import numpy as np
import pytest

from vlmsel.mini.captions import CAPTION_STYLES, PLURALS, VOCABULARY, caption, captions
from vlmsel.mini.scenes import (
    COLOURS,
    IMAGE_SIZE,
    N_DIGITS_TRAIN,
    SHAPES,
    SceneDistribution,
    digit_indices,
    render,
    render_batch,
    sample_scenes,
    shape_mask,
)

MIXED = SceneDistribution(digit_prob=0.3, outline_prob=0.1)


def test_same_seed_same_scenes_and_pixels():
    a, b = sample_scenes(40, 7, MIXED), sample_scenes(40, 7, MIXED)
    assert a == b
    np.testing.assert_array_equal(render_batch(a), render_batch(b))
    c = sample_scenes(40, 8, MIXED)
    assert a != c
    assert not np.array_equal(render_batch(a), render_batch(c))


def test_render_shape_dtype_and_noise_free_background():
    scenes = sample_scenes(5, 0, SceneDistribution(backgrounds=("plain",), pixel_noise=(0.0, 0.0)))
    img = render(scenes[0])
    assert img.shape == (IMAGE_SIZE, IMAGE_SIZE, 3) and img.dtype == np.uint8
    # a plain, noise-free background is exactly its colour away from the object
    obj = scenes[0].objects
    mask = np.zeros((IMAGE_SIZE, IMAGE_SIZE), bool)
    for o in obj:
        mask |= shape_mask(o.shape, o.x, o.y, o.radius + 1.5)
    bg = np.round(np.asarray(scenes[0].bg_rgb) * 255).astype(int)
    assert np.abs(img[~mask].astype(int) - bg).max() <= 1


@pytest.mark.parametrize("shape", SHAPES)
def test_shape_masks_are_centred_and_sized(shape):
    m = shape_mask(shape, 32.0, 30.0, 10.0)
    ys, xs = np.nonzero(m)
    assert abs(xs.mean() + 0.5 - 32.0) < 0.6  # left-right symmetric about the centre
    assert 0 < m.sum() < np.pi * 10.5**2 * 1.3
    assert shape_mask(shape, 32.0, 30.0, 6.0).sum() < m.sum()  # smaller radius, smaller area
    outline = shape_mask(shape, 32.0, 30.0, 10.0, outline=True)
    assert outline.sum() < m.sum() and not (outline & ~m).any()


def test_circle_area_matches_pi_r_squared():
    assert shape_mask("circle", 32, 32, 12.0).sum() == pytest.approx(np.pi * 144, rel=0.03)


def test_unknown_values_raise_clear_errors():
    with pytest.raises(ValueError, match="hexagon"):
        SceneDistribution(shapes=("hexagon",))
    with pytest.raises(ValueError, match="colours is empty"):
        SceneDistribution(colours=())
    with pytest.raises(ValueError, match="digit_pool"):
        SceneDistribution(digit_pool="val")


def test_digit_pools_are_disjoint_and_complete():
    train, test = digit_indices("train"), digit_indices("test")
    tr = np.concatenate(list(train.values()))
    te = np.concatenate(list(test.values()))
    assert tr.max() < N_DIGITS_TRAIN <= te.min()
    assert len(tr) + len(te) == 1797
    scenes = sample_scenes(30, 1, SceneDistribution(digit_prob=1.0, digit_pool="test"))
    assert all(s.digit_index >= N_DIGITS_TRAIN and s.kind == "digit" for s in scenes)


def test_multi_object_scenes_do_not_overlap():
    for s in sample_scenes(50, 3, SceneDistribution(counts=(3, 4))):
        assert s.count in (3, 4) and s.size is None and s.position is None
        for i, a in enumerate(s.objects):
            for b in s.objects[i + 1:]:
                assert np.hypot(a.x - b.x, a.y - b.y) >= a.radius + b.radius


def test_single_objects_sit_near_their_anchor():
    for pos, (ax, ay) in {"left": (15, 32), "top": (32, 15)}.items():
        for s in sample_scenes(20, 4, SceneDistribution(counts=(1,), positions=(pos,), sizes=("small",))):
            o = s.objects[0]
            assert s.position == pos and abs(o.x - ax) <= 4 and abs(o.y - ay) <= 4


def test_full_captions_name_the_attributes():
    rng = np.random.default_rng(0)
    for s in sample_scenes(60, 5, MIXED):
        text = caption(s, "full", rng)
        words = set(text.split())
        if s.kind == "digit":
            assert s.digit_colour in words
        else:
            noun = s.shapes[0] if s.count == 1 else PLURALS[s.shapes[0]]
            assert noun in words and s.colours[0] in words
            if s.position is not None:
                assert s.position in words
        assert (s.orientation or s.background) in words


def test_style_specific_captions_hide_other_attributes():
    rng = np.random.default_rng(1)
    shape_words = set(SHAPES) | set(PLURALS.values())
    for s in sample_scenes(40, 6, SceneDistribution()):
        assert not set(caption(s, "colour", rng).split()) & shape_words
        assert not set(caption(s, "shape", rng).split()) & set(COLOURS)


def test_every_caption_word_is_in_the_vocabulary():
    rng = np.random.default_rng(2)
    vocab = set(VOCABULARY)
    scenes = sample_scenes(80, 9, MIXED)
    for style in CAPTION_STYLES:
        for text in captions(scenes, {style: 1.0}, rng):
            assert set(text.split()) <= vocab, (style, text)


def test_caption_mixture_validation():
    rng = np.random.default_rng(0)
    s = sample_scenes(2, 0)
    with pytest.raises(ValueError, match="poetry"):
        captions(s, {"poetry": 1.0}, rng)
    with pytest.raises(ValueError, match="positive sum"):
        captions(s, {"full": 0.0}, rng)


@pytest.mark.parametrize("attribute", ["shape", "colour", "count", "size", "position", "background", "orientation", "digit"])
def test_groups_differ_in_exactly_the_varied_attribute(attribute):
    from vlmsel.mini.scenes import ATTRIBUTES, sample_group

    rng = np.random.default_rng(11)
    for _ in range(10):
        group, used = sample_group(rng, MIXED, attribute, 4)
        assert used == attribute and len(group) == 4

        def value(s, a):
            if a == "shape":
                return s.shapes[0]
            if a == "colour":
                return s.digit_colour or s.colours[0]
            return {"count": s.count, "size": s.size, "position": s.position, "background": s.background,
                    "orientation": s.orientation, "digit": s.digit}[a]

        varied = [value(s, attribute) for s in group]
        assert len(set(varied)) == min(4, len(getattr(MIXED, ATTRIBUTES[attribute])))
        for other in ("colour", "background", "shape", "digit"):
            if other != attribute and not (other == "background" and attribute == "orientation"):
                vals = {value(s, other) if (s.objects or other in ("colour", "background", "digit")) else None
                        for s in group}
                if other == "shape" and any(s.digit is not None for s in group):
                    continue
                assert len(vals) == 1, (attribute, other, vals)


def test_group_captions_share_their_phrasing():
    from vlmsel.mini.scenes import sample_group

    rng = np.random.default_rng(3)
    group, _ = sample_group(rng, SceneDistribution(), "colour", 4)
    texts = [caption(s, "full", np.random.default_rng(99)) for s in group]
    words = [t.split() for t in texts]
    assert len({len(w) for w in words}) == 1
    diff = [i for i in range(len(words[0])) if len({w[i] for w in words}) > 1]
    assert [words[0][i] in COLOURS for i in diff] == [True]
    with pytest.raises(ValueError, match="unknown attribute"):
        sample_group(rng, SceneDistribution(), "texture", 4)
