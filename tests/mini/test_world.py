"""The mini world's registration (vlmsel.mini.world): what it registers, its folders (vlmsel.mini.paths),
that nothing else imports it, and a package that re-exports nothing."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import vlmsel.mini
from vlmsel.data.benchmarks import load_benchmark
from vlmsel.data.zoo import load_zoo, named_zoo
from vlmsel.mini import paths, world
from vlmsel.profiles.registry import registry


def test_folders(monkeypatch, tmp_path):
    monkeypatch.delenv("VLMSEL_MINI_DIR", raising=False)
    repo = Path(__file__).resolve().parents[2] / "data" / "mini"
    assert paths.default_mini_dir() == repo
    assert paths.default_profile_store() == repo / "profiles"
    assert paths.default_profile_store(tmp_path) == tmp_path / "profiles"
    assert paths.default_profile_store(tmp_path, objective="zs_max_logit") == tmp_path / "profiles_zs_max_logit"
    assert paths.fidelity_sweep_path(tmp_path) == tmp_path / "fidelity.npz"
    assert paths.variants_path(tmp_path) == tmp_path / "variants.npz"
    monkeypatch.setenv("VLMSEL_MINI_DIR", str(tmp_path))
    assert paths.default_mini_dir() == tmp_path and paths.default_profile_store() == tmp_path / "profiles"


def test_the_committed_mini_world_stays_under_80_mb():
    """The budget of ``data/mini`` (weights in fp16, profiles compressed): 60 MB when the world was built, 80 MB
    since its two stores carry the arrays of the cheaper signals (embeddings at half precision, zero-shot
    logits, pixel statistics: about 7 MB a store)."""
    repo = Path(__file__).resolve().parents[2] / "data" / "mini"
    total = sum(p.stat().st_size for p in repo.rglob("*") if p.is_file())
    assert total < 80e6, f"data/mini holds {total / 1e6:.1f} MB"


def test_register_is_idempotent_and_registers_its_pieces():
    world.register()
    world.register()  # again: replaces its own entries, no error
    assert named_zoo(world.NAME).benchmark == world.NAME
    entry = registry()[world.NAME]
    assert entry.zoo == world.NAME and Path(entry.path) == paths.default_profile_store()
    zs = registry()[f"{world.NAME}-zs_max_logit"]
    assert zs.zoo == world.NAME and Path(zs.path) == paths.default_profile_store(objective="zs_max_logit")


def _imported_modules(tree: ast.Module, package: str) -> set[str]:
    """Every module an ``import`` or ``from ... import`` anywhere in ``tree`` names, in functions included
    (``from vlmsel.mini import world`` names ``vlmsel.mini.world``; relative imports resolved in ``package``)."""
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0]
                base = f"{parent}.{base}" if base else parent
            out |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return out


def test_no_mini_module_imports_the_world():
    """vlmsel.mini.world is the top of the mini world: the entry point imports it, no mini module does
    (the folders they need are vlmsel.mini.paths)."""
    root = Path(vlmsel.mini.__file__).parent
    sources = sorted(root.rglob("*.py"))
    importers = []
    for path in sources:
        module = ".".join(("vlmsel", *path.relative_to(root.parent).with_suffix("").parts))
        package = module.removesuffix(".__init__") if path.name == "__init__.py" else module.rsplit(".", 1)[0]
        if "vlmsel.mini.world" in _imported_modules(ast.parse(path.read_text()), package):
            importers.append(module)
    assert len(sources) > 20 and importers == []


def test_the_import_finder_sees_imports_inside_functions():
    tree = ast.parse(
        "def f():\n    from vlmsel.mini import world\n"
        "def g():\n    from .world import register\n"
        "import vlmsel.mini.world as w\n"
    )
    assert _imported_modules(tree, "vlmsel.mini") >= {"vlmsel.mini.world", "vlmsel.mini.world.register"}
    assert "vlmsel.mini.world" in _imported_modules(ast.parse("from ..world import NAME"), "vlmsel.mini.domains")


def test_the_package_re_exports_nothing():
    public = [n for n in vars(vlmsel.mini) if not n.startswith("_")]
    assert set(public) <= {
        "world",
        "paths",
        "groundtruth",
        "models",
        "tasks",
        "domains",
        "captions",
        "tokenizer",
        "training",
        "mixtures",
        "zoo",
        "realism",
        "profiling",
        "data",
    }  # only submodules
    with pytest.raises(AttributeError):
        vlmsel.mini.load_mini_benchmark  # noqa: B018


@pytest.mark.skipif(not (paths.default_mini_dir() / "groundtruth.csv").is_file(), reason="mini world not built")
def test_the_registered_loaders_give_the_mini_world(one_torch_thread):
    bench = load_benchmark("mini")
    assert bench.name == "mini"
    zoo = load_zoo("mini")
    assert [e.name for e in zoo] == [m for m in bench.models if m in {e.name for e in zoo}]
    assert set(e.name for e in zoo) <= set(bench.models) and len(zoo) >= 2


def test_a_missing_mini_dir_names_the_variable_and_the_folder(monkeypatch, tmp_path, capsys):
    from PIL import Image

    from vlmsel.cli import main

    missing = tmp_path / "nonexistent"
    monkeypatch.setenv("VLMSEL_MINI_DIR", str(missing))
    monkeypatch.setenv("VLMSEL_CACHE_DIR", str(tmp_path / "cache"))
    expected = (
        f"VLMSEL_MINI_DIR={missing}: no such folder; unset it to use the packaged mini world, or point it "
        "at a folder made by `vlmsel mini train`"
    )
    images = tmp_path / "images"
    images.mkdir()
    for i in range(2):
        Image.new("RGB", (8, 8), (60 * i, 0, 0)).save(images / f"{i}.png")
    for argv in (
        ["mini", "models"],
        ["evaluate", "--benchmark", "mini", "--method", "inb"],
        ["select", "--images", str(images), "--zoo", "mini", "--device", "cpu"],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err == f"vlmsel {argv[0]}: error: {expected}\n", err
    assert main(["mini", "models", "--dir", str(missing)]) == 2
    assert f"--dir {missing}: no such folder" in capsys.readouterr().err
