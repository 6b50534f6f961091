"""``vlmsel select`` end to end on tiny random-init models: the printed table, the JSON schema, the
HTML report, --max-gflops, --skip-bad and the user errors; and ``--zoo mini`` once the mini world exists."""

from __future__ import annotations

import json
import math

import pytest

from tests.cli.conftest import select_args
from tests.conftest import one_error_line
from vlmsel.cli import main
from vlmsel.recommend.evidence import load_evidence

# Tiny models on a shared 2-core machine: one torch thread avoids oversubscription stalls.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory, build_world, select_zoo):
    return build_world(
        tmp_path_factory.mktemp("cli_select"), zoo_items=select_zoo, sources=["src0", "src1"], n_src=4, n_steps=3
    )


@pytest.fixture(scope="module")
def target(world, make_images):
    """The user's five images (three gradients, two noise), beside the world."""
    folder = world["base"] / "mine"
    make_images(folder, 3, kind=0, seed=11)
    make_images(folder, 2, kind=1, seed=12)
    return folder


def test_table_json_and_report(world, target, tmp_path, capsys):
    out_json, out_html = tmp_path / "r.json", tmp_path / "r.html"
    rc = main(select_args(world, target, "--top", "2", "--json", str(out_json), "--report", str(out_html)))
    out = capsys.readouterr().out
    assert rc == 0
    assert "rank" in out and "P(top-1)" in out and "GFLOPs/img" in out
    table = out.split("* = Pareto-optimal")[0]  # the ranking (the side-by-side table comes after it)
    lines = [ln for ln in table.splitlines() if ln.strip().startswith(("1 ", "2 ", "3 "))]
    assert [ln.split()[0] for ln in lines] == ["1", "2"]  # --top 2
    default = load_evidence().default  # no --method: the method the project's evidence supports
    assert f"by '{default}'" in out and "Side by side (top 5 of each method)" in out
    assert "pre-registered rule" in out and f"chose '{default}'" in out
    if default in ("avg_rank", "inb"):
        assert "does not depend on your images" in out
    else:
        assert ("Stable choice" in out) or ("Unstable choice" in out) or ("no source stands out" in out)
    assert f"wrote {out_json}" in out and f"wrote {out_html}" in out

    d = json.loads(out_json.read_text())
    assert d["format"] == "vlmsel-selection" and d["version"] == 2
    assert set(d) >= {"top1", "ranking", "stability", "explanations", "images", "excluded", "info", "notes"}
    assert d["method"] == default and d["evidence"].startswith("On the mini world")
    rows = {r["method"]: r for r in d["comparison"]}
    assert {default, "dcd", "dcd_z"} <= set(rows) and rows[default]["role"].startswith("used")
    for r in rows.values():
        assert set(r) >= {"role", "top5", "top5_overlap", "kendall_tau", "cost_G", "seconds", "evidence_ndcg5"}
        assert len(r["top5"]) == 3 and 0 <= r["top5_overlap"] <= 3  # a zoo of three models
    assert rows["dcd"]["cost_G"] == 3 * (3 + 1) + 2  # the store's n_steps = 3
    assert rows[default]["top5_overlap"] == 3 and rows[default]["kendall_tau"] == 1
    assert len(d["ranking"]) == 3 and d["top1"] == d["ranking"][0]["model"]
    for i, row in enumerate(d["ranking"], 1):
        assert set(row) == {
            "rank",
            "model",
            "score",
            "score_lo",
            "score_hi",
            "p_top1",
            "p_top5",
            "family",
            "params_M",
            "gflops",
            "image_gflops",
            "pareto",
        }
        assert row["rank"] == i and isinstance(row["pareto"], bool) and 0 <= row["p_top1"] <= 1
        assert row["gflops"] is None  # unknown: null, not NaN
    assert math.isclose(sum(r["p_top1"] for r in d["ranking"]), 1.0)
    st = d["stability"]
    assert set(st) >= {
        "top1",
        "p_top1",
        "stable",
        "threshold",
        "n_boot",
        "message",
        "curve",
        "suggested_n_images",
        "fit",
    }
    assert st["threshold"] == 0.6 and st["n_boot"] == 50 and st["curve"][-1]["n_images"] == 5
    ex = d["explanations"][d["top1"]]
    assert {s["dataset"] for s in ex["sources"]} == {"src0", "src1"}
    assert set(ex["sources"][0]) == {"dataset", "alpha", "dcd", "accuracy", "rank", "n_models"}
    assert math.isclose(sum(s["alpha"] for s in ex["sources"]), 1.0)
    assert len(ex["blocks"]) == len(ex["target_importance"]) == len(ex["source_importance"])
    assert d["images"]["n"] == 5 and len(d["images"]["sha256"]) == 5
    assert d["info"]["settings"]["weights"] == "random-init"
    html = out_html.read_text()
    assert html.count("data:image/png;base64,") >= 3 and "https://" not in html


def test_method_classes_and_no_compare(world, target, tmp_path, capsys):
    """--method picks the ranking method (dcd: the paper's); --classes (a list, or a file of names) enables the
    target-only scores and records the zero-shot logits; --no-compare ranks with the chosen method only."""
    out_json = tmp_path / "r.json"
    assert main(select_args(world, target, "--method", "dcd", "--no-compare", "--json", str(out_json))) == 0
    out = capsys.readouterr().out
    assert "by 'dcd'" in out and "Side by side" not in out
    d = json.loads(out_json.read_text())
    assert d["method"] == "dcd" and d["comparison"] == [] and d["info"]["classes"] is None
    names = tmp_path / "classes.txt"
    names.write_text("# my classes\ngradient\n\nnoise\n")
    for given in (["gradient,noise"], [str(names)]):
        assert main(select_args(world, target, "--classes", *given, "--method", "msp", "--json", str(out_json))) == 0
        out = capsys.readouterr().out
        d = json.loads(out_json.read_text())
        assert d["method"] == "msp" and d["info"]["classes"] == ["gradient", "noise"]
        assert d["info"]["templates"] == ["a photo of a {c}."]
        assert "by 'msp'" in out and {"msp", "dcd", "dcd_z"} <= {r["method"] for r in d["comparison"]}
        assert math.isclose(sum(r["p_top1"] for r in d["ranking"]), 1.0)


def test_bad_method_and_class_arguments_are_one_line(world, target, tmp_path, capsys):
    assert main(select_args(world, target, "--method", "msp")) == 2
    one_error_line(capsys, "msp", "--classes")
    assert main(select_args(world, target, "--classes", "cat")) == 2
    one_error_line(capsys, "at least 2")
    assert main(select_args(world, target, "--classes", "cat,dog,cat")) == 2
    one_error_line(capsys, "more than once", "cat")
    assert main(select_args(world, target, "--classes", "cat,dog", "--templates", "a photo")) == 2
    one_error_line(capsys, "{c}")
    empty = tmp_path / "empty.txt"
    empty.write_text("# nothing\n")
    assert main(select_args(world, target, "--classes", str(empty))) == 2
    one_error_line(capsys, "empty.txt", "no names")
    with pytest.raises(SystemExit):
        main(select_args(world, target, "--method", "nope"))
    assert "invalid choice" in capsys.readouterr().err


def test_max_gflops(world, target, tmp_path, capsys):
    out_json = tmp_path / "r.json"
    assert main(select_args(world, target, "--max-gflops", "0.03", "--json", str(out_json))) == 0
    d = json.loads(out_json.read_text())
    assert [r["model"] for r in d["ranking"] if r["image_gflops"] > 0.03] == []
    assert {e["model"] for e in d["excluded"]} == {"vlmsel_sel_vit b"}
    assert d["info"]["settings"]["max_gflops"] == 0.03
    assert "vlmsel_sel_vit b" not in capsys.readouterr().out.split("Not ranked")[0]


def test_bad_inputs(world, make_images, tmp_path, capsys):
    folder = tmp_path / "imgs"
    make_images(folder, 2, kind=0, seed=1)
    (folder / "cat.jpg").write_bytes(b"not a jpeg at all")
    (folder / "list.txt").write_text("x")
    assert main(select_args(world, folder)) == 2
    err = capsys.readouterr().err
    assert "cat.jpg" in err and "--skip-bad" in err
    assert main(select_args(world, folder, "--skip-bad")) == 0
    out = capsys.readouterr().out
    assert "Skipped 2 file(s)" in out and "cat.jpg" in out and "list.txt: not an image file" in out
    one = tmp_path / "one"
    make_images(one, 1, kind=0)
    assert main(select_args(world, one)) == 2
    assert "at least 2" in capsys.readouterr().err
    assert main(select_args(world, tmp_path / "no_such_folder")) == 2
    assert "no_such_folder does not exist" in capsys.readouterr().err


def test_settings_mismatch_names_the_model(world, target, capsys):
    args = [a for a in select_args(world, target) if a != "--random-init"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "vlmsel_sel_vit a" in err and "--random-init" in err


def test_a_list_of_files(world, target, tmp_path, capsys):
    files = sorted(str(p) for p in target.glob("*.png"))[:3]
    args = select_args(world, files[0])
    i = args.index("--images")
    args[i + 1 : i + 2] = files
    assert main(args) == 0
    assert "for 3 images" in capsys.readouterr().out


def _mini_ready() -> bool:
    try:
        from vlmsel.data.benchmarks import load_benchmark
        from vlmsel.mini.paths import default_profile_store
        from vlmsel.profiles.store import ProfileStore

        bench = load_benchmark("mini")
        store = ProfileStore(default_profile_store())
        return len(set(bench.models) & set(store.models)) >= 2 and bool(set(bench.datasets) & set(store.datasets))
    except Exception:
        return False


@pytest.mark.slow
@pytest.mark.skipif(
    not _mini_ready(), reason="the mini world (trained models, ground truth, profile store) is not built"
)
def test_zoo_mini_works_offline_out_of_the_box(tmp_path, capsys):
    """``vlmsel select --images <mini images> --zoo mini --report r.html``: no --profiles, no --benchmark."""
    from PIL import Image

    from vlmsel.mini.tasks import list_tasks, make_task_data

    data = make_task_data(list_tasks()[0], n=6, seed=123)
    folder = tmp_path / "mini_images"
    folder.mkdir()
    for i, arr in enumerate(data.images):
        Image.fromarray(arr).save(folder / f"{i}.png")
    report = tmp_path / "r.html"
    rc = main(
        [
            "select",
            "--images",
            str(folder),
            "--zoo",
            "mini",
            "--device",
            "cpu",
            "--n-boot",
            "50",
            "--work-dir",
            str(tmp_path / "targets"),
            "--report",
            str(report),
        ]
    )
    assert rc == 0, capsys.readouterr().err
    assert report.is_file() and "data:image/png;base64," in report.read_text()
    assert "P(top-1)" in capsys.readouterr().out


def test_help_gives_the_work_dir_default_of_cache_dir(capsys):
    with pytest.raises(SystemExit):
        main(["select", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert (
        "--work-dir WORK_DIR cache of your images' profiles (default: $VLMSEL_CACHE_DIR/targets, else "
        "$XDG_CACHE_HOME/vlmsel/targets, else ~/.cache/vlmsel/targets)"
    ) in help_text
