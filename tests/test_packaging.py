"""The wheel holds every subpackage and the mini world's committed artifacts."""

from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "vlmsel").rglob("__init__.py")}
    listed = set(config["packages"])
    assert found <= listed, f"add {sorted(found - listed)} to [tool.setuptools] packages in pyproject.toml"
    assert config["package-dir"]["vlmsel.mini.data"] == "data/mini"


@pytest.mark.slow
def test_the_wheel_ships_the_mini_world(tmp_path, built_wheel):
    """A plain (non-editable) install, as Colab's `pip install git+...`, must find data/mini."""
    import subprocess
    import sys
    import zipfile

    names = set(zipfile.ZipFile(built_wheel).namelist())
    mini = {n for n in names if n.startswith("vlmsel/mini/data/")}
    assert "vlmsel/mini/data/groundtruth.csv" in mini and "vlmsel/mini/data/models.csv" in mini
    assert any(n.endswith("open_clip_model.safetensors") for n in mini)
    # the sweeps chapters 2 and 7 read (in Colab too, from the installed package)
    assert {"vlmsel/mini/data/fidelity.npz", "vlmsel/mini/data/variants.npz"} <= mini
    for store in ("profiles", "profiles_zs_max_logit"):
        if (ROOT / f"data/mini/{store}/store.json").is_file():
            assert f"vlmsel/mini/data/{store}/store.json" in mini
    assert "vlmsel/resources/upstream_files.json" in names
    # installed (not editable), the package finds its own copy of the mini world
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(built_wheel)],
        check=True,
        capture_output=True,
    )
    env = {k: v for k, v in __import__("os").environ.items() if k != "VLMSEL_MINI_DIR"}
    env["PYTHONPATH"] = str(target)
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            "from vlmsel.mini.paths import default_mini_dir as d; "
            "from vlmsel.mini.groundtruth import load_mini_table as t; print(d()); print(len(t()))",
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    ).stdout.split()
    assert Path(out[0]) == target / "vlmsel" / "mini" / "data"
    assert int(out[1]) > 0
