"""Model zoos (vlmsel.data.zoo): the named zoos, user lists, the QuickGELU rule (checked on the activation
modules of models built on the meta device), random init, and clear errors when a model cannot load."""

from __future__ import annotations

import json
import math
import time

import pytest
import torch

from vlmsel.data import zoo
from vlmsel.data.benchmarks import load_benchmark


def test_named_zoos_match_the_benchmarks():
    for name, bench, size in (("lovm35", "lovm", 35), ("openclip48", "openclip48", 48), ("openclip121", "openclip121", 121)):
        entries = zoo.load_zoo(name)
        assert len(entries) == size
        assert [e.name for e in entries] == load_benchmark(bench).models
        assert all(e.family for e in entries)
        assert all(not math.isnan(e.gflops) and not math.isnan(e.image_gflops) for e in entries)
    e = {x.name: x for x in zoo.load_zoo("lovm35")}["ViT-B-32 laion2b_s34b_b79k"]
    assert (e.family, e.params_M, e.gflops, e.image_params_M, e.image_gflops) == ("LAION ViT", 151.28, 14.78, 87.85, 8.82)
    families = {x.family for x in zoo.load_zoo("openclip48")}
    assert {"OpenAI CLIP", "LAION ViT", "ConvNeXt", "CoCa", "EVA", "SigLIP"} <= families
    with pytest.raises(KeyError, match="unknown zoo 'lovm36'"):
        zoo.load_zoo("lovm36")


def test_register_zoo_adds_a_named_zoo(monkeypatch):
    zoo.zoo_names()  # load the installed worlds first, so the copy below holds them
    monkeypatch.setattr(zoo.ZOO_REGISTRY, "_registered", dict(zoo.ZOO_REGISTRY._registered))
    assert zoo.zoo_names()[:3] == list(zoo.BUILTIN_ZOOS) == ["openclip48", "lovm35", "openclip121"]
    assert zoo.named_zoo("two") is None
    zoo.register_zoo("two", "lovm", lambda: zoo.load_zoo(["RN50 openai", "RN101 openai"]))
    assert "two" in zoo.zoo_names() and zoo.named_zoo("two").benchmark == "lovm"
    assert [e.name for e in zoo.load_zoo("two")] == ["RN50 openai", "RN101 openai"]
    assert zoo.named_zoo("lovm35").benchmark == "lovm"
    with pytest.raises(ValueError, match="already registered"):
        zoo.register_zoo("two", "swab")
    with pytest.raises(ValueError, match="built into vlmsel"):
        zoo.register_zoo("openclip48", "openclip48", replace=True)


def test_user_lists(tmp_path):
    csv = tmp_path / "m.csv"
    csv.write_text("arch,pretrained,family\nRN50,openai,\nViT-B-32,my_ckpt,mine\n")
    entries = zoo.load_zoo(csv)
    assert [e.name for e in entries] == ["RN50 openai", "ViT-B-32 my_ckpt"]
    assert entries[0].family == "OpenAI CLIP" and entries[1].family == "mine"
    assert entries[1].image_gflops == 8.82  # the architecture's size is known from another row
    yml = tmp_path / "m.yaml"
    yml.write_text("- [RN50, openai]\n- [ViT-B-32, laion2b_s34b_b79k]\n")
    assert [e.name for e in zoo.load_zoo(yml)] == ["RN50 openai", "ViT-B-32 laion2b_s34b_b79k"]
    txt = tmp_path / "m.txt"
    txt.write_text("# my zoo\nRN50 openai\n")
    assert [e.name for e in zoo.load_zoo(txt)] == ["RN50 openai"]
    assert zoo.load_zoo([("RN50", "openai"), {"arch": "RN101", "pretrained": "openai", "quick_gelu": "false"}])[1].quick_gelu is False
    with pytest.raises(ValueError, match="more than once"):
        zoo.load_zoo(["RN50 openai", "RN50 openai"])
    with pytest.raises(ValueError, match="lacks the column"):
        (tmp_path / "bad.csv").write_text("model\nRN50\n")
        zoo.load_zoo(tmp_path / "bad.csv")


@pytest.mark.parametrize(
    "name, quick",
    [
        ("ViT-B-32 openai", True),  # OpenAI weights: QuickGELU although the plain config says GELU
        ("RN50 openai", True),  # (in the text tower; ModifiedResNet's visual tower uses ReLU)
        ("ViT-B-32-quickgelu laion400m_e32", True),  # the config says so
        ("ViT-B-32 laion400m_e32", False),  # published row was evaluated with the plain config
        ("ViT-B-16 metaclip_fullcc", True),  # no published row: the activation the weights were trained with
    ],
)
def test_quick_gelu_rule_on_activation_modules(name, quick):
    entry = zoo.load_zoo([name])[0]
    assert entry.quick_gelu is quick
    model, _, _ = zoo.load_model(entry, pretrained=False, device="meta", with_tokenizer=False)
    counts = zoo.activation_counts(model)
    if quick:
        assert counts["QuickGELU"] > 0 and counts["GELU"] == 0, counts
    else:
        assert counts["QuickGELU"] == 0 and counts["GELU"] > 0, counts
    # the text tower's MLP activation is what every CLIP has
    act = model.transformer.resblocks[0].mlp.gelu
    assert type(act).__name__ == ("QuickGELU" if quick else "GELU")


def test_override_quick_gelu_on_a_quickgelu_config():
    entry = zoo.zoo_entry("ViT-B-32-quickgelu", "laion400m_e32", quick_gelu=False)
    model, _, _ = zoo.load_model(entry, pretrained=False, device="meta", with_tokenizer=False)
    assert zoo.activation_counts(model)["QuickGELU"] == 0


def _tiny_config(tmp_path, name="tiny_vit_test"):
    cfg = {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": 16, "vocab_size": 64, "width": 32, "heads": 2, "layers": 1},
    }
    path = tmp_path / f"{name}.json"
    path.write_text(json.dumps(cfg))
    return path


def test_random_init_is_seeded_per_model(tmp_path):
    assert zoo.register_model_configs(_tiny_config(tmp_path)) == ["tiny_vit_test"]
    e = zoo.zoo_entry("tiny_vit_test", "random")
    m1, pre, tok = zoo.load_model(e, pretrained=False, seed=0)
    m2, _, _ = zoo.load_model(e, pretrained=False, seed=0)
    m3, _, _ = zoo.load_model(e, pretrained=False, seed=1)
    w = "visual.conv1.weight"
    assert torch.equal(m1.state_dict()[w], m2.state_dict()[w])
    assert not torch.equal(m1.state_dict()[w], m3.state_dict()[w])
    assert not m1.training  # eval mode
    torch.manual_seed(5)  # loading a random-init model leaves the global RNG where it was
    a = torch.rand(1)
    torch.manual_seed(5)
    zoo.load_model(e, pretrained=False)
    assert torch.equal(torch.rand(1), a)
    from PIL import Image

    x = pre(Image.new("RGB", (50, 40)))
    assert x.shape == (3, 32, 32)
    assert tok(["a photo"]).dtype == torch.long


def test_measured_gflops_match_open_clip_table():
    for name in ("ViT-B-32 openai", "RN50 openai"):
        e = zoo.load_zoo([name])[0]
        assert zoo.measure_image_gflops(e) == pytest.approx(e.image_gflops, abs=0.01)


def test_unknown_architecture_and_tag_fail_clearly():
    with pytest.raises(zoo.ModelLoadError, match=r"unknown open_clip architecture 'ViT-B-33'.*ViT-B-32"):
        zoo.load_zoo(["ViT-B-33 openai"])
    entry = zoo.zoo_entry("ViT-B-32", "no_such_tag")
    with pytest.raises(zoo.ModelLoadError, match=r"'ViT-B-32 no_such_tag'.*'no_such_tag' is neither a pretrained tag.*laion2b_s34b_b79k"):
        zoo.load_model(entry)
    # with random init the tag is only a name
    zoo.load_model(entry, pretrained=False, device="meta", with_tokenizer=False)


def test_missing_weights_offline_fail_fast_with_a_clear_message(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # an empty cache
    t0 = time.perf_counter()
    with pytest.raises(zoo.ModelLoadError) as info:
        zoo.load_model("RN50 openai", pretrained=True, with_tokenizer=False, cache_dir=str(tmp_path / "oc"))
    msg = str(info.value)
    assert "'RN50 openai'" in msg and "not in the local cache" in msg and "HF_HUB_OFFLINE" in msg
    assert time.perf_counter() - t0 < 30


def test_resolve_device():
    assert zoo.resolve_device("cpu").type == "cpu"
    assert zoo.resolve_device("auto").type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="precision"):
        zoo.load_model("RN50 openai", pretrained=False, precision="fp8")
