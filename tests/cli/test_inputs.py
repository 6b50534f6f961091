"""The options `profile` and `zeroshot` share, read once in vlmsel.cli.inputs."""

import pytest

from vlmsel.cli import UserError, inputs, main


def test_dataset_names_expand_all_and_all20():
    assert len(inputs.dataset_names("all")) == 23
    all20 = inputs.dataset_names("all20")
    assert len(all20) == 20 and set(all20) < set(inputs.dataset_names("all"))
    assert inputs.dataset_names(" cifar100, ,dtd ") == ["cifar100", "dtd"]


def test_image_folders_default_name_and_error(tmp_path):
    (tmp_path / "shop").mkdir()
    assert inputs.image_folders([str(tmp_path / "shop"), f"x={tmp_path / 'shop'}"]) == [
        (str(tmp_path / "shop"), "shop", str(tmp_path / "shop")),
        (f"x={tmp_path / 'shop'}", "x", str(tmp_path / "shop")),
    ]
    with pytest.raises(UserError, match=r"--images y=.*nowhere is not a folder"):
        inputs.image_folders([f"y={tmp_path / 'nowhere'}"])


@pytest.mark.parametrize("command", ["profile", "zeroshot"])
def test_both_commands_name_the_bad_shard_and_folder(command, tmp_path, capsys):
    assert (
        main(
            [
                command,
                "--models",
                "RN50 openai",
                "--images",
                str(tmp_path),
                "--shard",
                "3/2",
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    assert "--shard" in capsys.readouterr().err
    assert (
        main([command, "--models", "RN50 openai", "--images", str(tmp_path / "missing"), "--out", str(tmp_path / "o")])
        == 2
    )
    assert "missing is not a folder" in capsys.readouterr().err


def _models_args(zoo, models):
    import argparse

    return argparse.Namespace(zoo=zoo, models=models, model_config=[])


def test_models_narrow_the_zoo_or_alone_list_the_models():
    both = inputs.zoo_entries(_models_args("lovm35", "ViT-B-32 openai, RN50  openai"))
    assert [e.name for e in both] == [
        e.name for e in inputs.zoo_entries(_models_args("lovm35", None)) if e.name in ("RN50 openai", "ViT-B-32 openai")
    ]  # the zoo's order
    assert [e.name for e in inputs.zoo_entries(_models_args(None, "RN50 openai"))] == ["RN50 openai"]
    with pytest.raises(UserError, match=r"--models: RN50 nope not in --zoo lovm35 \(35 models"):
        inputs.zoo_entries(_models_args("lovm35", "RN50 openai,RN50 nope"))
    with pytest.raises(UserError, match="say which models"):
        inputs.zoo_entries(_models_args(None, " , "))


def test_a_subset_of_the_mini_zoo_can_be_profiled(tmp_path, make_images, capsys):
    make_images(tmp_path / "mine", 2, kind=0)
    assert (
        main(
            [
                "profile",
                "--zoo",
                "mini",
                "--models",
                "mini-rn-w8 web,mini-convnext med",
                "--images",
                str(tmp_path / "mine"),
                "--n-images",
                "2",
                "--out",
                str(tmp_path / "o"),
                "--dry-run",
            ]
        )
        == 0
    )
    assert "plan: 2 models x 1 datasets = 2 entries" in capsys.readouterr().out


@pytest.mark.parametrize("command", ["profile", "zeroshot"])
def test_a_model_outside_the_zoo_is_named(command, tmp_path, capsys):
    assert (
        main(
            [
                command,
                "--zoo",
                "mini",
                "--models",
                "mini-rn-w8 web,RN50 openai",
                "--images",
                str(tmp_path),
                "--out",
                str(tmp_path / "o"),
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(f"vlmsel {command}: error: --models: RN50 openai not in --zoo mini ("), err
