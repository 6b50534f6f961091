"""Training the mini models: seeded and deterministic, saved folders that open_clip loads."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from vlmsel.conductance.blocks import discover_blocks
from vlmsel.mini.mixtures import MIXTURES, get_mixture
from vlmsel.mini.models import (
    ARCH_FAMILY,
    MINI_ARCHS,
    create_mini_model,
    load_mini_model,
    mini_tokenizer,
    register_mini_pretrained,
    to_model_input,
)
from vlmsel.mini.tasks import make_task_data
from vlmsel.mini.training import lr_at, save_trained, train
from vlmsel.mini.zoo import MINI_ZOO, MiniModelSpec, get_spec, model_slug

SPEC = MiniModelSpec("mini-vit-p8-w32", "web", seed=3, steps=3, batch_size=16)


def _images(n: int, seed: int = 0) -> np.ndarray:
    return make_task_data("broad", n=n, seed=seed).images


@pytest.fixture(autouse=True)
def _one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def _weights(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_same_seed_same_weights_after_a_few_steps():
    a = train(SPEC, pool_size=48, show_progress=False)
    b = train(SPEC, pool_size=48, show_progress=False)
    assert a.losses == b.losses and len(a.losses) == 3
    wa, wb = _weights(a.model), _weights(b.model)
    assert all(torch.equal(wa[k], wb[k]) for k in wa)
    init = _weights(create_mini_model(SPEC.arch, seed=SPEC.seed))
    assert any(not torch.equal(wa[k], init[k]) for k in wa)  # training moved the weights
    c = train(dataclasses.replace(SPEC, seed=4), pool_size=48, show_progress=False)
    wc = _weights(c.model)
    assert any(not torch.equal(wa[k], wc[k]) for k in wa)


def test_loss_starts_near_log_batch_and_decreases_on_a_tiny_pool():
    spec = dataclasses.replace(SPEC, arch="mini-vit-p16-w64", mixture="web", steps=40)
    st = train(spec, pool_size=16, warmup=5, show_progress=False)
    assert abs(st.losses[0] - np.log(16)) < 1.0
    assert np.mean(st.losses[-5:]) < st.losses[0] - 0.5


def test_lr_schedule():
    assert lr_at(0, 100, 1.0, 10) == pytest.approx(0.1)
    assert lr_at(9, 100, 1.0, 10) == pytest.approx(1.0)
    assert lr_at(10, 100, 1.0, 10) == pytest.approx(1.0)
    assert lr_at(55, 100, 1.0, 10) == pytest.approx(0.5)
    assert lr_at(100, 100, 1.0, 10) == pytest.approx(0.0)


def test_zoo_specs_are_valid():
    """At least 24 models in at least 3 tower families; every mixture used, every arch on >= 2 mixtures."""
    assert len(MINI_ZOO) >= 24 and len({s.name for s in MINI_ZOO}) == len(MINI_ZOO)
    assert all(s.arch in MINI_ARCHS and s.mixture in MIXTURES for s in MINI_ZOO)
    assert len({ARCH_FAMILY[s.arch] for s in MINI_ZOO}) >= 3
    assert {s.mixture for s in MINI_ZOO} == set(MIXTURES)
    assert all(sum(s.arch == a for s in MINI_ZOO) >= 2 for a in MINI_ARCHS)
    assert get_spec("mini-rn-w8 med").mixture == "med"
    with pytest.raises(KeyError, match="mini models"):
        get_spec("ViT-B-32 openai")
    with pytest.raises(KeyError, match="mixtures"):
        get_mixture("laion2b")
    assert model_slug("mini-rn-w8 med") == "mini-rn-w8__med"


def test_mixtures_differ_in_domain_proportions():
    web = get_mixture("web").weights()
    assert all(w == pytest.approx(1 / len(web)) for w in web.values())
    for name, mix in MIXTURES.items():
        w = mix.weights()
        assert sum(w.values()) == pytest.approx(1.0) and min(w.values()) > 0, name  # every domain seen a little
    med = get_mixture("med").weights()
    assert max(med, key=med.get) == "cells" and med["cells"] > 10 * med["signs"]


@pytest.mark.parametrize("arch", list(MINI_ARCHS))
def test_every_arch_builds_encodes_and_has_12_blocks(arch):
    model = create_mini_model(arch, seed=0).eval()
    assert len(discover_blocks(model)) >= 12
    x = to_model_input(_images(2))
    with torch.no_grad():
        img = model.encode_image(x)
        txt = model.encode_text(mini_tokenizer()(["a red circle", "two squares"]))
    assert img.shape == (2, 64) and txt.shape == (2, 64)
    assert model.token_embedding.num_embeddings == mini_tokenizer().vocab_size


def test_saved_folder_loads_with_open_clip(tmp_path):
    import open_clip
    from PIL import Image

    spec = dataclasses.replace(SPEC, mixture="earth", seed=0)  # a zoo name: register_mini_pretrained registers the zoo
    st = train(spec, pool_size=32, show_progress=False)
    folder = save_trained(st, spec, tmp_path)
    manifest = json.loads((folder / "training.json").read_text())
    assert manifest["model"] == spec.name and manifest["seed"] == 0 and manifest["steps"] == 3
    assert manifest["weights_dtype"] == "float16" and len(manifest["loss"]["curve_step_mean"]) == 3

    images = _images(4, 1)
    x = to_model_input(images)
    model, preprocess, tok = load_mini_model(spec.name, tmp_path)
    # open_clip's own eval transform of the PIL images equals to_model_input
    x_pil = torch.stack([preprocess(Image.fromarray(a)) for a in images])
    torch.testing.assert_close(x_pil, x, rtol=0, atol=1e-6)
    with torch.no_grad():
        loaded, trained = model.encode_image(x), st.model.encode_image(x)
    torch.testing.assert_close(loaded, trained, rtol=0.02, atol=0.02)  # fp16 storage
    assert tok.vocab_size == mini_tokenizer().vocab_size

    # registered as an open_clip pretrained tag of the architecture
    assert spec.name in register_mini_pretrained(tmp_path)
    model2, _, pre2 = open_clip.create_model_and_transforms(spec.arch, pretrained=spec.mixture)
    model2.eval()
    with torch.no_grad():
        torch.testing.assert_close(model2.encode_image(x), loaded)
    torch.testing.assert_close(torch.stack([pre2(Image.fromarray(a)) for a in images]), x, rtol=0, atol=1e-6)


def test_untrained_model_error_names_the_command(tmp_path):
    with pytest.raises(FileNotFoundError, match="vlmsel mini train"):
        load_mini_model("mini-rn-w8 med", tmp_path)


def test_group_pictures_share_all_but_one_attribute_and_captions_name_it():
    from vlmsel.mini.captions import words_of
    from vlmsel.mini.mixtures import Mixture
    from vlmsel.mini.training import group_captions, pretraining_pool

    mix = Mixture("t", "test", full_prob=0.0)
    pool = pretraining_pool(mix, 0, pool_size=240)
    assert all(n > 0 for n in pool.domain_counts().values())
    groups = [pool.pictures[g * 4 : (g + 1) * 4] for g in range(pool.n_groups)]
    texts = group_captions(mix, groups, pool.group_attributes, np.random.default_rng(0))
    for g, attr in enumerate(pool.group_attributes):
        group = groups[g]
        assert len({p.domain for p in group}) == 1
        attrs = [dict(p.attrs) for p in group]
        # the group's pictures agree on every other attribute they all have (varying a sub-style redraws
        # the attributes that only apply to some sub-styles)
        for b in set.intersection(*(set(a) for a in attrs)) - {attr}:
            assert len({a[b] for a in attrs}) == 1, (attr, b, attrs)
        caps = [set(words_of(t)) for t in texts[g * 4 : (g + 1) * 4]]
        for a, cap in zip(attrs, caps):
            assert set(words_of(a[attr])) <= cap, (a, texts[g * 4 : (g + 1) * 4])  # the varied value is named
        if len({a[attr] for a in attrs}) == 1:
            continue  # an attribute with fewer values than the group may repeat one value throughout
        # the captions of pictures with different values differ (phrasing may be tied to a value:
        # "far away" / "near the camera", "an aerial view" / "a satellite photo")
        assert set.union(*caps) - set.intersection(*caps), (attr, texts[g * 4 : (g + 1) * 4])


def test_mixture_validation():
    from vlmsel.mini.mixtures import Mixture

    with pytest.raises(ValueError, match="unknown domain"):
        Mixture("x", "x", domains=(("photos", 1.0),))
    with pytest.raises(ValueError, match="captions must be"):
        Mixture("x", "x", captions="poetry")
