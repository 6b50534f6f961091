"""The profiling pipeline (vlmsel.profiles.compute) on tiny random-init open_clip models and generated folders:
what it writes, resuming, settings checks, and every input error stopping the run before any work."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch

from vlmsel.conductance import block_conductance
from vlmsel.conductance.options import DEFAULT_METHOD, DEFAULT_N_STEPS, DEFAULT_RULE
from vlmsel.data.images import ImageReadError
from vlmsel.data.tasks import sample
from vlmsel.data.zoo import ModelLoadError, load_model, load_zoo
from vlmsel.profiles import compute
from vlmsel.profiles.store import MANIFEST_FIELDS, ProfileStore, read_profile

SETTINGS = compute.ProfileSettings(n_images=3, n_steps=4, internal_batch_size=8, pretrained=False)


# Tiny models on a shared 2-core machine: one torch thread avoids oversubscription stalls.
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def env(tmp_path_factory, tiny_configs, tiny_models, make_task):
    base = tmp_path_factory.mktemp("prof")
    tiny_configs(base / "configs", register=True)
    tasks = [make_task(base / "bright", 5, seed=2), make_task(base / "dark", 4, seed=0)]
    return base, load_zoo(tiny_models), tasks


def _run(store, env, settings=SETTINGS, **kw):
    _, entries, tasks = env
    return compute.run_profiles(entries, [str(t) for t in tasks], store, settings, device="cpu", **kw)


def test_writes_one_complete_entry_per_model_and_task(env, tiny_models, tmp_path):
    store = tmp_path / "store"
    report = _run(store, env)
    assert sorted(report.table()["status"]) == ["written"] * 4
    ps = ProfileStore(store)
    assert ps.models == sorted(tiny_models) and ps.datasets == ["bright", "dark"]
    assert ps.available().values.all()
    entries, tasks = env[1], env[2]
    for entry in entries:
        model, pre, _ = load_model(entry, pretrained=False, seed=SETTINGS.seed, with_tokenizer=False)
        for task in tasks:
            arrays, man = read_profile(store, entry.name, task.name)
            assert set(MANIFEST_FIELDS) <= set(man)
            smp = sample(task, 3, seed=0)
            assert man["image_ids"] == smp.ids and man["image_sha256"] == smp.sha256
            assert (
                man["weights"] == "random-init"
                and man["n_steps"] == 4
                and man["method"] == DEFAULT_METHOD
                and man["rule"] == DEFAULT_RULE
            )
            assert set(man["versions"]) >= {"python", "torch", "open_clip", "vlmsel"}
            assert man["wall_time_s"] > 0 and man["device"] == "cpu" and man["quick_gelu"] is False
            # the stored arrays are exactly what the engine gives for the same model and images
            ref = block_conductance(
                model,
                torch.stack([pre(im) for im in smp.images]),
                n_steps=4,
                internal_batch_size=8,
                method=DEFAULT_METHOD,
                rule=DEFAULT_RULE,
            )
            for k in ("abs", "l2", "signed"):
                np.testing.assert_allclose(arrays[k], ref.scalars[k], rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(arrays["f_x"], ref.f_x, rtol=1e-6)
            assert list(arrays["block_names"]) == list(ref.block_names) == man["block_names"]
    assert ps.block_scalars("vlmsel_test_vit random", "bright").shape == (3, 2)
    assert ps.block_scalars("vlmsel_test_rn random", "dark").shape == (3, 4)


def test_rerun_skips_done_and_resumes_interrupted(env, tiny_models, tmp_path):
    store = tmp_path / "store"
    _run(store, env)
    first = {m: read_profile(store, m, "dark")[0] for m in tiny_models}
    mtimes = {p: p.stat().st_mtime_ns for p in store.rglob("*.npz")}
    report = _run(store, env)
    assert sorted(report.table()["status"]) == ["done"] * 4
    assert {p: p.stat().st_mtime_ns for p in store.rglob("*.npz")} == mtimes
    # what a killed run leaves: arrays without manifest, and a temporary file
    folder = store / "vlmsel_test_rn__random"
    (folder / "dark.json").unlink()
    stale = folder / ".dark.npz.x1y2.partial"
    stale.write_bytes(b"half a file")
    report = _run(store, env)
    statuses = {(j.model.name, j.dataset): j.status for j in report.jobs}
    assert statuses[("vlmsel_test_rn random", "dark")] == "written"
    assert list(statuses.values()).count("done") == 3
    assert not stale.exists() and not list(store.rglob("*.partial"))
    for m in tiny_models:
        np.testing.assert_array_equal(read_profile(store, m, "dark")[0]["abs"], first[m]["abs"])


def test_other_settings_are_refused_unless_overwrite(env, tmp_path):
    store = tmp_path / "store"
    _run(store, env)
    other = compute.ProfileSettings(n_images=3, n_steps=5, internal_batch_size=8, pretrained=False)
    with pytest.raises(ValueError, match=r"other settings \(n_steps: stored 4, asked 5\).*--overwrite"):
        _run(store, env, other)
    report = _run(store, env, other, overwrite=True)
    assert sorted(report.table()["status"]) == ["written"] * 4
    assert read_profile(store, "vlmsel_test_vit random", "bright")[1]["n_steps"] == 5
    autocast = dataclasses.replace(other, autocast=True)
    with pytest.raises(ValueError, match=r"other settings \(autocast: stored False, asked True\)"):
        _run(store, env, autocast)


def test_input_errors_stop_the_run_before_any_work(env, make_task, tmp_path):
    base, entries, tasks = env
    store = tmp_path / "store"

    def run(models=entries, tsk=tuple(str(t) for t in tasks), settings=SETTINGS, **kw):
        return compute.run_profiles(models, list(tsk), store, settings, device="cpu", **kw)

    with pytest.raises(ModelLoadError, match="unknown open_clip architecture 'vlmsel_test_vot'"):
        run(models=[*entries, load_zoo.__globals__["ZooEntry"]("vlmsel_test_vot", "random")])
    with pytest.raises(KeyError, match=r"unknown dataset\(s\) \['cifar1000'\]"):
        run(tsk=[*map(str, tasks), "cifar1000"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="has no images"):
        run(tsk=[str(tasks[0]), str(tmp_path / "empty")])
    with pytest.raises(ValueError, match="only 4 images, fewer than the 5 requested"):
        run(settings=compute.ProfileSettings(n_images=5, n_steps=2, pretrained=False))
    bad = make_task(tmp_path / "bad", 3, seed=1)
    (bad / "img01.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(ImageReadError, match=r"img01.png.*--skip-bad"):
        run(tsk=[str(bad)])
    assert not list(store.rglob("*.json")) or ProfileStore(store).models == []
    # with skip_bad the bad file is skipped, but then 'bad' has 2 readable images: too few for 3
    with pytest.raises(ValueError, match="only 2 readable images"):
        run(tsk=[str(bad)], skip_bad=True)
    make_task(tmp_path / "more", 1, seed=5)
    (bad / "img03.png").write_bytes((tmp_path / "more" / "img00.png").read_bytes())  # a third readable image
    run(models=entries[:1], tsk=[str(bad)], skip_bad=True)
    man = read_profile(store, entries[0].name, "bad")[1]
    assert [s[0] for s in man["skipped"]] == ["img01.png"] and "img01.png" not in man["image_ids"]


def test_a_model_that_cannot_load_does_not_stop_the_others(env, tmp_path):
    from vlmsel.data.zoo import zoo_entry

    good_model, _, _ = load_model("vlmsel_test_rn random", pretrained=False, with_tokenizer=False)
    ckpt = tmp_path / "rn.pt"
    torch.save(good_model.state_dict(), ckpt)
    broken = tmp_path / "vit.pt"
    broken.write_bytes(b"not a checkpoint")
    entries = [zoo_entry("vlmsel_test_vit", str(broken)), zoo_entry("vlmsel_test_rn", str(ckpt))]
    settings = compute.ProfileSettings(n_images=3, n_steps=2, pretrained=True)
    report = compute.run_profiles(entries, [str(env[2][0])], tmp_path / "store", settings, device="cpu")
    assert [j.status for j in report.jobs] == ["failed", "written"]
    assert "vit.pt" in report.failed[0].error and "cannot build" in report.failed[0].error
    arrays, man = read_profile(tmp_path / "store", entries[1].name, "bright")
    assert man["weights"] == "pretrained" and arrays["abs"].shape == (3, 4)


def test_plan_and_cost_estimate(env, tmp_path):
    entries = load_zoo(["ViT-B-32 openai", "RN50 openai"])
    jobs = compute.plan_profiles(
        entries, ["cifar100", "dtd"], tmp_path / "none", compute.ProfileSettings(), device="cpu"
    )
    assert [j.status for j in jobs] == ["todo"] * 4
    rate = compute.THROUGHPUT_GFLOPS["cpu"]
    assert jobs[0].est_seconds == pytest.approx(8.82 * 25 * (DEFAULT_N_STEPS + 1) * 3 / rate)
    assert jobs[2].est_seconds == pytest.approx(12.22 * 25 * (DEFAULT_N_STEPS + 1) * 3 / rate)
    # a custom architecture's GFLOPs are measured
    tiny = compute.plan_profiles(env[1], ["x"], tmp_path / "none", SETTINGS)
    assert all(not math.isnan(j.est_seconds) and j.est_seconds > 0 for j in tiny)
    assert compute.estimate_seconds(10.0, 25, 50, "cpu", throughput_gflops=10.0) == pytest.approx(25 * 51 * 3)


def test_the_feature_arrays_are_the_models_own_and_zero_shot_is_optional(env, tmp_path):
    """Beside the block scalars an entry holds the unit image embeddings (model.encode_image, normalised),
    the pixel statistics and, for a task with class names, the zero-shot logits with the model's own logit
    scale; zero_shot=False (``--no-zero-shot``) leaves the logits out and no block scalar changes."""
    from vlmsel.data.images import pixel_features
    from vlmsel.data.tasks import FolderSource, Task
    from vlmsel.data.zeroshot import zero_shot_classifier

    _, entries, tasks = env
    folder = tasks[0]
    named = Task("bright", FolderSource(folder), classnames=["sun", "moon", "star"], templates=["a {c}.", "{c}"])
    with_zs, without = tmp_path / "zs", tmp_path / "plain"
    compute.run_profiles(entries[:1], [named], with_zs, SETTINGS, device="cpu")
    compute.run_profiles(entries[:1], [named], without, dataclasses.replace(SETTINGS, zero_shot=False), device="cpu")
    entry = entries[0]
    model, pre, tok = load_model(entry, pretrained=False, seed=SETTINGS.seed)
    smp = sample(named, 3, seed=0)
    x = torch.stack([pre(im) for im in smp.images])
    with torch.no_grad():
        emb = torch.nn.functional.normalize(model.encode_image(x).float(), dim=-1)
        cls = zero_shot_classifier(model, tok, named.classnames, named.templates)
        logits = model.logit_scale.exp() * emb @ cls
    a, _ = read_profile(with_zs, entry.name, "bright")
    b, _ = read_profile(without, entry.name, "bright")
    np.testing.assert_allclose(a["embedding"], emb.numpy(), atol=2e-3)  # stored at half precision
    np.testing.assert_allclose(a["zs_logits"], logits.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(a["class_embeddings"], cls.T.numpy(), atol=1e-6)
    assert list(a["class_names"]) == ["sun", "moon", "star"]
    np.testing.assert_allclose(a["pixel_stats"], [pixel_features(im) for im in smp.images], atol=1e-6)
    assert "zs_logits" not in b and "class_names" not in b and "embedding" in b
    for k in ("abs", "l2", "signed", "branch", "f_x"):
        np.testing.assert_array_equal(a[k], b[k])
