"""``vlmsel.select``: a target equal to a source picks that source, the scores equal the library's
dcd_scores, bootstrap probabilities are consistent, the stability message and its estimate, max_gflops,
the target cache, settings mismatches, bad input (non-images, corrupt, too few, huge, EXIF), and the
``--zoo openclip48 --random-init`` path end to end with a store built here."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from scipy.stats import norm

from vlmsel.data.images import ImageReadError
from vlmsel.method.aggregation import utilities
from vlmsel.method.scoring import dcd_scores
from vlmsel.profiles.pooling import Profiles, task_profile
from vlmsel.profiles.store import ProfileStore, read_profile
from vlmsel.recommend.options import STABLE_AT
from vlmsel.recommend.pipeline import select
from vlmsel.recommend.stability import curve_sizes, images_for_stability, pareto_optimal, top_k_probabilities
from vlmsel.recommend.target import TARGET, target_sample

# Tiny models on a shared 2-core machine: one torch thread avoids oversubscription stalls.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def world(tmp_path_factory, build_world):
    return build_world(tmp_path_factory.mktemp("select"))


def _select(world, images, **kw):
    kw.setdefault("work_dir", world["base"] / "targets")
    kw.setdefault("benchmark", world["acc"])
    kw.setdefault("n_boot", 100)
    kw.setdefault("method", "dcd")  # these tests check the paper's method (the evidence's default is tested apart)
    return select(images, zoo=world["zoo"], profiles=world["store"], pretrained=False, device="cpu", **kw)


@pytest.fixture(scope="module")
def mixed(world, make_images):
    """``mixed(name, [(kind, n), ...])``: a folder beside the world with ``n`` images of each kind (made once)."""

    def make(name: str, spec: list[tuple[int, int]]) -> Path:
        folder = world["base"] / name
        if not folder.exists():
            for i, (kind, n) in enumerate(spec):
                make_images(folder, n, kind=kind, seed=20 + i)
        return folder

    return make


# ------------------------------------------------------------------------------------ the method
@pytest.mark.parametrize("source", ["src0", "src1"])
def test_target_equal_to_a_source_puts_that_source_first(world, source):
    assert source in world["sources"]
    r = _select(world, world["folders"][source])
    for model in r.models:
        assert r.best_source(model) == source
        assert r.explain(model)["dataset"].iloc[0] == source
        assert r.divergence.loc[model, source] < 1e-9  # same images, same settings: the same profile
        assert (r.divergence.loc[model].drop(source) > 1e-6).all()
    # the explanation's block view compares the target with that source: identical importances
    bl = r.blocks(r.top1)
    np.testing.assert_allclose(bl["target_w"], bl["source_w"], atol=1e-9)


def test_scores_equal_dcd_scores_from_the_stores(world):
    """An independent path: pool both stores with ProfileStore.task_profiles / task_profile, run dcd_scores."""
    r = _select(world, world["folders"]["src2"], gamma=2.0)
    models, sources = r.models, list(r.alpha.columns)
    src = ProfileStore(world["store"]).task_profiles(models, sources)
    tstore = Path(r.info["target_stores"][0])
    rows = {}
    for m in models:
        tp = task_profile(read_profile(tstore, m, TARGET)[0]["abs"])
        rows[m] = np.vstack([src.profile(m, d) for d in sources] + [tp])
    prof = Profiles.from_dict(rows, [*sources, "T"])
    expected = dcd_scores(prof, world["acc"].loc[models, sources], "T", gamma=2.0)
    got = r.ranking.set_index("model")["score"]
    np.testing.assert_allclose(got.loc[models], expected.loc[models], rtol=1e-12)
    # the score is the alpha-weighted source utility the explanation shows
    u = utilities(r.source_acc.loc[models].to_numpy())
    np.testing.assert_allclose((r.alpha.loc[models].to_numpy() * u).sum(1), got.loc[models], rtol=1e-12)
    assert list(r.ranking["score"]) == sorted(r.ranking["score"], reverse=True)


def test_bootstrap_probabilities_are_consistent(world, mixed):
    r = _select(world, mixed("mix012", [(0, 2), (1, 2), (2, 2)]))
    assert r.ranking["p_top1"].sum() == pytest.approx(1.0)
    assert r.ranking["p_top5"].sum() == pytest.approx(min(5, len(r.ranking)))
    assert ((r.ranking["p_top1"] >= 0) & (r.ranking["p_top1"] <= r.ranking["p_top5"])).all()
    assert (r.ranking["score_lo"] <= r.ranking["score_hi"]).all()
    assert list(r.curve["n_images"]) == curve_sizes(6) == [2, 3, 4, 6]
    assert r.curve["p_top1"].iloc[-1] == pytest.approx(r.p_top1)  # the last point is the main bootstrap


def test_copies_of_one_image_are_one_image(world, tmp_path):
    """Four copies of one image are one image (duplicates are dropped and listed): too few to rank."""
    src = sorted(world["folders"]["src0"].glob("*.png"))[0]
    for i in range(4):
        shutil.copy(src, tmp_path / f"copy{i}.png")
    with pytest.raises(ValueError, match=r"1 usable image\(s\), at least 2 are needed.*skipped: \['copy"):
        _select(world, tmp_path)


def test_unstable_choice_is_reported(world, mixed):
    """Two of noise and two of stripes: the leading models are close and the choice flips under resampling."""
    r = _select(world, mixed("mix12", [(1, 2), (2, 2)]), n_boot=200)
    assert r.p_top1 < STABLE_AT and not r.stable
    msg = r.stability_message
    assert msg.startswith("Unstable choice") and f"{r.p_top1:.0%}" in msg and "60%" in msg
    assert "Contenders" in msg
    assert "Unstable choice" in r.summary()
    d = r.to_dict()["stability"]
    assert d["stable"] is False and d["message"] == msg


def test_more_images_are_suggested_from_the_curve(world, mixed):
    """With a stricter threshold the estimate from the bootstrap curve is given as a number of images."""
    r = _select(world, mixed("mix012", [(0, 2), (1, 2), (2, 2)]), stable_at=0.9, n_boot=200)
    assert not r.stable
    curve = r.curve
    assert curve["p_top1"].iloc[-1] > curve["p_top1"].iloc[0]  # more images, steadier choice
    need = r.suggested_n_images
    assert need is not None and need > len(r.images)
    est = images_for_stability(curve["n_images"], curve["p_top1"], 0.9, 200)
    assert need == max(int(np.ceil(est.n_needed)), len(r.images) + 1)
    assert f"About {need - len(r.images)} more images ({need} in all)" in r.stability_message


def test_images_for_stability_recovers_a_known_curve():
    a, b = -0.4, 0.3
    sizes = [5, 10, 15, 20]
    p = norm.cdf(a + b * np.sqrt(sizes))
    est = images_for_stability(sizes, p, 0.6, n_boot=10**9)
    assert est.a == pytest.approx(a) and est.b == pytest.approx(b)
    assert est.n_needed == pytest.approx(((norm.ppf(0.6) - a) / b) ** 2)
    flat = images_for_stability(sizes, [0.5, 0.5, 0.5, 0.5], 0.6)
    falling = images_for_stability(sizes, [0.7, 0.6, 0.5, 0.4], 0.6)
    assert flat.n_needed is None and falling.n_needed is None
    # nearly flat: a far extrapolation, which the result reports as "more images help only slowly"
    assert images_for_stability(sizes, [0.5, 0.48, 0.52, 0.5], 0.6).n_needed > 10 * max(sizes)
    assert images_for_stability([4, 4], [0.3, 0.4]).n_needed is None


def test_top_k_probabilities_match_a_loop():
    rng = np.random.default_rng(0)
    models = ["d", "a", "c", "b", "e", "f"]
    scores = rng.integers(0, 3, size=(6, 50)).astype(float)  # many ties: broken by name
    p1, p5 = top_k_probabilities(scores, models, k=5)
    c1, c5 = np.zeros(6), np.zeros(6)
    for b in range(50):
        order = sorted(range(6), key=lambda i: (-scores[i, b], models[i]))
        c1[order[0]] += 1
        c5[order[:5]] += 1
    np.testing.assert_allclose(p1, c1 / 50)
    np.testing.assert_allclose(p5, c5 / 50)
    assert p1.sum() == pytest.approx(1) and p5.sum() == pytest.approx(5)


def test_pareto_optimal_matches_brute_force():
    rng = np.random.default_rng(1)
    score = rng.integers(0, 5, 12).astype(float)
    cost = rng.integers(1, 6, 12).astype(float)
    cost[3] = np.nan
    got = pareto_optimal(score, cost)
    for i in range(12):
        if np.isnan(cost[i]):
            assert not got[i]
            continue
        dominated = any(
            j != i
            and not np.isnan(cost[j])
            and score[j] >= score[i]
            and cost[j] <= cost[i]
            and (score[j] > score[i] or cost[j] < cost[i])
            for j in range(12)
        )
        assert got[i] == (not dominated)
    assert got.any()


def test_max_gflops_restricts_the_candidates(world):
    r = _select(world, world["folders"]["src1"], max_gflops=0.03)
    assert len(r.ranking) == 2 and (r.ranking["image_gflops"] <= 0.03).all()
    assert "vlmsel_sel_vit b" in r.excluded and "max_gflops" in r.excluded["vlmsel_sel_vit b"]
    assert r.info["computed"] + r.info["reused"] == list(r.alpha.index)  # nothing computed for excluded models
    # the cheapest model is always Pareto-optimal; the flag agrees with the helper
    cheapest = r.ranking.loc[r.ranking["image_gflops"].idxmin(), "model"]
    assert bool(r.ranking.set_index("model").loc[cheapest, "pareto"])
    np.testing.assert_array_equal(r.ranking["pareto"], pareto_optimal(r.ranking["score"], r.ranking["image_gflops"]))
    with pytest.raises(ValueError, match="only 0 candidate"):
        _select(world, world["folders"]["src1"], max_gflops=0.001)


def test_rerun_reuses_the_cached_target_profiles(world, tmp_path):
    r1 = _select(world, world["folders"]["src0"], work_dir=tmp_path)
    assert sorted(r1.info["computed"]) == sorted(r1.models) and r1.info["reused"] == []
    manifests = sorted(tmp_path.rglob(f"{TARGET}.json"))
    stamps = [m.stat().st_mtime_ns for m in manifests]
    r2 = _select(world, world["folders"]["src0"], work_dir=tmp_path)
    assert r2.info["computed"] == [] and sorted(r2.info["reused"]) == sorted(r1.models)
    assert [m.stat().st_mtime_ns for m in manifests] == stamps
    pd.testing.assert_frame_equal(r1.ranking, r2.ranking)


def test_a_damaged_cached_target_profile_is_recomputed(world, tmp_path):
    r1 = _select(world, world["folders"]["src0"], work_dir=tmp_path)
    damaged = sorted(tmp_path.rglob(f"{TARGET}.npz"))[0]
    damaged.write_bytes(damaged.read_bytes()[:100])  # truncated
    r2 = _select(world, world["folders"]["src0"], work_dir=tmp_path)
    assert len(r2.info["computed"]) == 1 and len(r2.info["reused"]) == len(r1.models) - 1
    pd.testing.assert_frame_equal(r1.ranking, r2.ranking)


def test_settings_must_match_the_store(world, tmp_path):
    with pytest.raises(ValueError, match=r"model 'vlmsel_sel_vit a'.*weights.*--random-init"):
        select(
            world["folders"]["src0"],
            zoo=world["zoo"],
            profiles=world["store"],
            benchmark=world["acc"],
            pretrained=True,
            device="cpu",
            work_dir=tmp_path,
        )
    with pytest.raises(ValueError, match=rf"model 'vlmsel_sel_vit a'.*n_steps: store {world['n_steps']}, this run 7"):
        _select(world, world["folders"]["src0"], n_steps=7, work_dir=tmp_path)
    assert not list(tmp_path.rglob("*.npz"))  # nothing was computed


def test_unknown_model_and_missing_ground_truth(world):
    with pytest.raises(KeyError, match="nope x"):
        _select(world, world["folders"]["src0"], models=["nope x", "vlmsel_sel_vit a"])
    acc = world["acc"].drop(index="vlmsel_sel_rn a")
    r = _select(world, world["folders"]["src0"], benchmark=acc)
    assert "vlmsel_sel_rn a" not in r.models and "ground truth" in r.excluded["vlmsel_sel_rn a"]


# ------------------------------------------------------------------------------------ bad input
def test_non_image_files_are_skipped_and_listed(world, make_images, tmp_path):
    make_images(tmp_path, 3, kind=0)
    (tmp_path / "notes.txt").write_text("hello")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "table.csv").write_text("a,b\n")
    s = target_sample(tmp_path)
    assert len(s) == 3
    assert sorted(f for f, _ in s.skipped) == ["notes.txt", "sub/table.csv"]
    r = _select(world, tmp_path)
    assert sorted(f for f, _ in r.skipped) == ["notes.txt", "sub/table.csv"]
    assert all("not an image" in why for _, why in r.skipped)
    assert "notes.txt" in r.summary()


def test_corrupt_image_is_an_error_unless_skip_bad(world, make_images, tmp_path):
    make_images(tmp_path, 3, kind=1)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n this is not a png")
    with pytest.raises(ImageReadError, match=r"broken\.png.*--skip-bad"):
        target_sample(tmp_path)
    with pytest.raises(ImageReadError, match=r"broken\.png"):
        _select(world, tmp_path)
    r = _select(world, tmp_path, skip_bad=True)
    assert len(r.images) == 3 and [f for f, _ in r.skipped] == ["broken.png"]


def test_fewer_than_two_usable_images_is_an_error(world, make_images, tmp_path):
    make_images(tmp_path, 1, kind=0)
    (tmp_path / "readme.md").write_text("x")
    with pytest.raises(ValueError, match="1 usable image.*at least 2"):
        _select(world, tmp_path)
    (tmp_path / "bad.jpg").write_bytes(b"nope")
    with pytest.raises(ValueError, match="at least 2"):
        target_sample(tmp_path, skip_bad=True)
    with pytest.raises(ValueError, match="empty"):
        target_sample([])
    with pytest.raises(FileNotFoundError):
        target_sample(tmp_path / "missing")


def test_a_list_of_files_and_fewer_images_than_asked(world):
    files = sorted(world["folders"]["src0"].glob("*.png"))[:3]
    s = target_sample([*files, "notes.txt"], n_images=25)
    assert sorted(s.ids) == sorted(map(str, files)) and s.skipped[0][0] == "notes.txt"
    r = _select(world, files)
    assert len(r.images) == 3 and any("3 images were used" in n for n in r.notes)


def _model_transform_resize(world):
    """The PIL part of the tiny models' own preprocess (resize + centre crop), as open_clip builds it."""
    from vlmsel.data.zoo import load_model

    _, preprocess, _ = load_model(world["zoo"][0], pretrained=False, with_tokenizer=False)
    pil_steps = [t for t in preprocess.transforms if type(t).__name__ in ("Resize", "CenterCrop")]
    assert len(pil_steps) == 2
    return lambda im: pil_steps[1](pil_steps[0](im))


def test_very_large_images_are_resized_as_the_model_transform_does(world, make_images, tmp_path):
    big_dir, small_dir = tmp_path / "big", tmp_path / "small"
    for d in (big_dir, small_dir):
        make_images(d, 2, kind=2, seed=5)
    h, w = 1800, 2700  # 4.9 megapixels
    yy, xx = np.mgrid[0:h, 0:w]
    arr = np.stack([(xx * 255 // w), (yy * 255 // h), ((xx + yy) % 256)], -1).astype(np.uint8)
    big = Image.fromarray(arr)
    big.save(big_dir / "photo.png")
    resize = _model_transform_resize(world)
    resize(big).save(small_dir / "photo.png")  # what the model's transform makes of it, lossless
    r_big, r_small = _select(world, big_dir), _select(world, small_dir)
    assert r_big.images == r_small.images
    for m in r_big.models:
        np.testing.assert_allclose(r_big.target_profile[m], r_small.target_profile[m], rtol=1e-10)


def test_exif_orientation_is_honoured(world, make_images, tmp_path):
    rng = np.random.default_rng(3)
    upright = Image.fromarray((rng.random((48, 30, 3)) * 255).astype(np.uint8))  # tall: rotation changes the crop
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # as a camera stores it sideways (wide)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": undoes ROTATE_90 (counter-clockwise)
    folders = {k: tmp_path / k for k in ("exif", "upright", "ignored")}
    for d in folders.values():
        make_images(d, 2, kind=0, seed=9)
    stored.save(folders["exif"] / "z.png", exif=exif)
    upright.save(folders["upright"] / "z.png")
    stored.save(folders["ignored"] / "z.png")  # the same pixels without the tag
    s = target_sample(folders["exif"])
    z = s.images[s.ids.index("z.png")]
    assert z.size == upright.size and np.array_equal(np.asarray(z), np.asarray(upright))
    r = {k: _select(world, d) for k, d in folders.items()}
    for m in r["exif"].models:
        np.testing.assert_allclose(r["exif"].target_profile[m], r["upright"].target_profile[m], rtol=1e-10)
        assert not np.allclose(r["exif"].target_profile[m], r["ignored"].target_profile[m], rtol=1e-6)


# ------------------------------------------------------------------------------------ real zoo
OPENCLIP_MODELS = ["ViT-B-32 openai", "ViT-B-32 laion2b_s34b_b79k"]


@pytest.mark.slow
def test_openclip48_random_init_end_to_end(make_images, tmp_path):
    """The ``--zoo openclip48 --random-init`` path: two real architectures (random weights), a source
    store of two benchmark datasets made of generated folders, ground truth from open_clip's table."""
    import vlmsel
    from vlmsel.data.benchmarks import load_benchmark
    from vlmsel.data.tasks import open_task
    from vlmsel.data.zoo import load_zoo
    from vlmsel.profiles.compute import ProfileSettings, run_profiles

    assert vlmsel.select is select
    entries = [e for e in load_zoo("openclip48") if e.name in OPENCLIP_MODELS]
    tasks = [open_task(d, path=make_images(tmp_path / d, 2, kind=i)) for i, d in enumerate(["cifar100", "dtd"])]
    # without their class names: encoding LOVM's prompts (100 classes x 18 templates) with two real text towers
    # on a CPU takes minutes, and the zero-shot arrays are tested on the tiny models
    tasks = [dataclasses.replace(t, classnames=None, templates=None) for t in tasks]
    settings = ProfileSettings(n_images=2, n_steps=2, pretrained=False, internal_batch_size=8)
    run_profiles(entries, tasks, tmp_path / "store", settings, device="cpu", show_progress=False)
    target = make_images(tmp_path / "mine", 2, kind=2)
    r = select(
        target,
        zoo="openclip48",
        profiles=tmp_path / "store",
        models=OPENCLIP_MODELS,
        pretrained=False,
        device="cpu",
        n_boot=50,
        work_dir=tmp_path / "targets",
    )
    bench = load_benchmark("openclip48")
    assert sorted(r.models) == sorted(OPENCLIP_MODELS)
    assert r.info["benchmark"] == "openclip48" and list(r.alpha.columns) == ["cifar100", "dtd"]
    pd.testing.assert_frame_equal(r.source_acc, bench.wide.loc[r.models, ["cifar100", "dtd"]], check_names=False)
    info = r.ranking.set_index("model")
    assert info.loc["ViT-B-32 openai", "family"] == "OpenAI CLIP"
    assert info.loc["ViT-B-32 openai", "image_gflops"] == pytest.approx(
        bench.model_info.loc["ViT-B-32 openai", "image_gflops"]
    )
    assert r.info["settings"]["weights"] == "random-init" and r.info["settings"]["n_steps"] == 2
    assert r.ranking["p_top1"].sum() == pytest.approx(1.0)
    for m in r.models:  # the target was profiled like the sources: same blocks
        assert list(r.target_importance[m].index) == list(r.source_importance[m].columns)
        assert len(r.target_importance[m]) == 12


@pytest.mark.slow
def test_select_is_exported_lazily():
    import subprocess
    import sys

    code = (
        "import sys, vlmsel; assert 'vlmsel.recommend.pipeline' not in sys.modules; "
        "from vlmsel.recommend.pipeline import select; assert vlmsel.select is select; print('ok')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "ok", out.stderr
    import vlmsel

    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        vlmsel.nope  # noqa: B018


def test_uniform_weights_are_not_called_a_stable_choice_of_the_images(world, tmp_path):
    """gamma = 0 weighs every source equally: the top-1 is the average-rank choice, whatever the images;
    the result, its summary and the report say so instead of claiming a stable choice."""
    from vlmsel.method.options import MethodOptions
    from vlmsel.recommend.report import write_report

    r = _select(world, world["folders"]["src0"], options=MethodOptions(gamma=0))
    n_src = r.alpha.shape[1]
    assert r.effective_sources() == pytest.approx(n_src) and r.uniform_weights()
    assert "no source stands out" in r.stability_message and "Stable choice" not in r.stability_message
    html = write_report(r, tmp_path / "r.html").read_text()
    assert "AVERAGE RANK" in html and ">STABLE<" not in html
    sharp = _select(world, world["folders"]["src0"], options=MethodOptions(gamma=200))
    assert sharp.effective_sources() < n_src and not sharp.uniform_weights()


def test_report_figures_score_axis_ends_at_one_and_pareto_labels_alternate(world):
    import matplotlib

    matplotlib.use("Agg")
    from vlmsel.recommend.figures import plot_pareto, plot_ranking

    r = _select(world, world["folders"]["src0"])
    assert plot_ranking(r).get_xlim() == (0.0, 1.0)  # a score is a rank utility, at most 1
    labels = [a for a in plot_pareto(r).texts if hasattr(a, "xyann")]
    offsets = [a.xyann[1] for a in labels]
    assert len(labels) == len(r.ranking) and all(o1 != o2 for o1, o2 in zip(offsets, offsets[1:]))
