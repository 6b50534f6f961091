"""``vlmsel zeroshot``: a zoo's zero-shot accuracy on labelled folders, the same table from one process
and from two shards, resumable, the numbers of :func:`vlmsel.data.zeroshot.evaluate_task`, and a table
that reads as a benchmark."""

from __future__ import annotations

import pandas as pd
import pytest

from vlmsel.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")


#: Tiny models whose text tower takes open_clip's tokenizer (its 49408 tokens; the profiling tests' tiny
#: models have a 64-token vocabulary and no text use).
_CONFIGS = {
    "vlmsel_zs_vit": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    },
    "vlmsel_zs_rn": {
        "embed_dim": 16,
        "vision_cfg": {"image_size": 32, "layers": [1, 1, 1, 1], "width": 8},
        "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
    },
}
MODELS = ["vlmsel_zs_vit random", "vlmsel_zs_rn random"]


@pytest.fixture(scope="module")
def labelled(tmp_path_factory, make_images):
    import json

    base = tmp_path_factory.mktemp("zeroshot")
    configs = base / "configs"
    configs.mkdir()
    for name, cfg in _CONFIGS.items():
        (configs / f"{name}.json").write_text(json.dumps(cfg))
    folders = []
    for t in range(2):
        for cls in ("stripes", "noise"):
            make_images(base / f"task{t}" / cls, 3, kind=2 if cls == "stripes" else 1, seed=t)
        folders.append(base / f"task{t}")
    return base, configs, folders


def _args(models, configs, folders, out):
    args = [
        "zeroshot",
        "--models",
        ",".join(models),
        "--model-config",
        str(configs),
        "--random-init",
        "--device",
        "cpu",
        "--threads",
        "1",
        "--out",
        str(out),
    ]
    for f in folders:
        args += ["--images", str(f)]
    return args


def test_one_process_and_two_shards_give_the_same_table(labelled, capsys):
    tiny_models = MODELS
    base, configs, folders = labelled
    assert main(_args(tiny_models, configs, folders, base / "one")) == 0
    out = capsys.readouterr().out
    assert "4 written, 0 already done (4 of 4 (model, dataset))" in out and "wrote" in out
    whole = pd.read_csv(base / "one" / "zeroshot.csv")
    assert list(whole.columns[:4]) == ["model", "dataset", "acc1", "mean_per_class_recall"] and len(whole) == 4
    assert whole["acc1"].between(0, 1).all() and (whole["n"] == 6).all()
    for i in range(2):
        assert main(_args(tiny_models, configs, folders, base / "sharded") + ["--shard", f"{i}/2"]) == 0
        assert f"(shard {i}/2): 2 written" in capsys.readouterr().out
    pd.testing.assert_frame_equal(pd.read_csv(base / "sharded" / "zeroshot.csv"), whole)
    assert main(_args(tiny_models, configs, folders, base / "one")) == 0
    assert "0 written, 4 already done" in capsys.readouterr().out
    from vlmsel.data.benchmarks import read_accuracy_table

    table = read_accuracy_table(base / "one" / "zeroshot.csv")
    assert table.shape == (2, 2)


def test_the_numbers_are_evaluate_task_s(labelled):
    from vlmsel.data.tasks import open_task
    from vlmsel.data.zeroshot import evaluate_task
    from vlmsel.data.zoo import load_model, load_zoo, register_model_configs

    base, configs, folders = labelled
    tiny_models = MODELS
    register_model_configs(configs)
    table = pd.read_csv(base / "one" / "zeroshot.csv").set_index(["model", "dataset"])
    model, preprocess, tokenizer = load_model(load_zoo([tiny_models[0]])[0], pretrained=False)
    task = open_task("task1", path=folders[1])
    task.classnames, task.templates = ["noise", "stripes"], ["a photo of a {c}."]
    res = evaluate_task(model, preprocess, tokenizer, task)
    assert table.loc[(tiny_models[0], "task1"), "acc1"] == pytest.approx(res["acc1"])


def test_bad_input(labelled, tmp_path, capsys):
    tiny_models = MODELS
    base, configs, folders = labelled
    flat = tmp_path / "flat"
    flat.mkdir()
    import shutil

    for p in (folders[0] / "noise").iterdir():
        shutil.copy(p, flat / p.name)
    assert main(_args(tiny_models, configs, [flat], tmp_path / "o")) == 2
    assert "has no class subfolders" in capsys.readouterr().err
    assert main(_args(tiny_models, configs, folders, tmp_path / "o") + ["--shard", "2/2"]) == 2
    assert "--shard: shard '2/2' is not I/N" in capsys.readouterr().err
