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
        (str(tmp_path / "shop"), "shop", str(tmp_path / "shop")), (f"x={tmp_path / 'shop'}", "x", str(tmp_path / "shop"))]
    with pytest.raises(UserError, match=r"--images y=.*nowhere is not a folder"):
        inputs.image_folders([f"y={tmp_path / 'nowhere'}"])


@pytest.mark.parametrize("command", ["profile", "zeroshot"])
def test_both_commands_name_the_bad_shard_and_folder(command, tmp_path, capsys):
    assert main([command, "--models", "RN50 openai", "--images", str(tmp_path), "--shard", "3/2",
                 "--out", str(tmp_path / "o")]) == 2
    assert "--shard" in capsys.readouterr().err
    assert main([command, "--models", "RN50 openai", "--images", str(tmp_path / "missing"),
                 "--out", str(tmp_path / "o")]) == 2
    assert "missing is not a folder" in capsys.readouterr().err
