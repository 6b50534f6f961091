"""vlmsel.untrusted against hand-picked names: what may become a path component, what stays inside a
folder, and the archive limits read from the environment."""

from __future__ import annotations

import os

import pytest

from vlmsel.untrusted import ArchiveLimits, UnsafeInputError, inside, relative_parts, safe_name


@pytest.mark.parametrize("name", ["dtd", "ViT-B-32__laion2b_s34b_b79k", "hf-hub:timm_eva", "cars 2", "é", "a" * 255])
def test_plain_names_pass(name):
    assert safe_name(name, "x") == name


@pytest.mark.parametrize(
    "name, why",
    [
        ("", "not a name"),
        (None, "not a name"),
        (3, "not a name"),
        (".", "relative folder"),
        ("..", "relative folder"),
        ("a/b", "separator"),
        ("../x", "separator"),
        ("/etc", "separator"),
        ("a\\b", "separator"),
        (".hidden", "dot"),
        ("a\nb", "control"),
        ("a\x00b", "control"),
        ("a\x7f", "control"),
        ("a" * 256, "longer than 255"),
        ("é" * 128, "longer than 255"),
    ],
)
def test_names_that_could_become_other_paths_are_refused(name, why):
    with pytest.raises(UnsafeInputError, match=why) as info:
        safe_name(name, "model folder in store.json")
    assert str(info.value).startswith("model folder in store.json: ") and "\n" not in str(info.value)


def test_inside_refuses_links_out_of_the_folder(tmp_path):
    root = tmp_path / "store"
    (root / "m").mkdir(parents=True)
    (tmp_path / "outside").mkdir()
    assert inside(root, "m", "d.npz") == root / "m" / "d.npz"  # need not exist
    os.symlink(tmp_path / "outside", root / "link")
    with pytest.raises(UnsafeInputError, match="outside"):
        inside(root, "link", "d.npz")
    os.symlink(root / "m", root / "fine")  # a link that stays inside is followed
    assert inside(root, "fine", "d.npz") == root / "fine" / "d.npz"
    with pytest.raises(UnsafeInputError, match="separator"):
        inside(root, "m/../../x")


def test_relative_parts():
    assert relative_parts("root/m/d.npz", "member", 3) == ("root", "m", "d.npz")
    for bad in ("/root/x", "root//x", "root/../x", "root/./x", "a/b/c/d", ""):
        with pytest.raises(UnsafeInputError):
            relative_parts(bad, "member", 3)


def test_archive_limits_from_the_environment(monkeypatch):
    assert ArchiveLimits.from_env() == ArchiveLimits()
    monkeypatch.setenv("VLMSEL_ARCHIVE_MAX_BYTES", "1000")
    monkeypatch.setenv("VLMSEL_ARCHIVE_MAX_FILES", "7")
    limits = ArchiveLimits.from_env()
    assert limits.max_total_bytes == 1000 and limits.max_members == 7
    assert limits.total_for(10) == 1000  # the smaller bound
    assert ArchiveLimits().total_for(1 << 20) == 200 << 20 and ArchiveLimits().total_for(10) == 200 << 16
    monkeypatch.setenv("VLMSEL_ARCHIVE_MAX_FILES", "many")
    with pytest.raises(UnsafeInputError, match="VLMSEL_ARCHIVE_MAX_FILES='many': give a whole number"):
        ArchiveLimits.from_env()
    monkeypatch.setenv("VLMSEL_ARCHIVE_MAX_FILES", "0")
    with pytest.raises(UnsafeInputError, match=">= 1"):
        ArchiveLimits.from_env()
