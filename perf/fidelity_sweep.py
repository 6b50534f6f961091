"""How many path points do the *selections* need? Profile the mini world at every (points, rule, n_steps).

    python perf/fidelity_sweep.py run --work ~/fidelity --workers 2       # ~75 CPU-minutes on 2 cores
    python perf/fidelity_sweep.py collect --work ~/fidelity              # -> data/mini/fidelity.npz
    python perf/fidelity_sweep.py variants --work ~/variants             # -> data/mini/variants.npz

``run`` profiles the whole mini zoo (26 models) on its 17 tasks at N = 25 images (the first 25 of the
published store's 100, the same images for every setting) once per setting of :data:`SETTINGS`, each into
its own profile store under ``--work`` (the ordinary :func:`vlmsel.mini.profiling.profile_mini`, so it
resumes after an interruption and ``--workers`` processes share each store through the per-entry claims).
The reference is the uniform grid with the trapezoid rule at 64 steps (error O(1/n^2); its distance to 32
steps bounds its own error). Today's default (Gauss-Legendre points, left rule, 50 steps) is not recomputed:
the published store holds it for these very images.

``collect`` writes the block scalars every chapter needs into one small file, ``data/mini/fidelity.npz``
(read with :func:`vlmsel.evaluation.fidelity.load_sweep`): per setting, the ``abs`` block scalars
(model, task, image, block) in float32, the relative completeness gap of every entry and the CPU time
each entry took. Chapter :ref:`ch-conductance` and the ablations chapter compute every figure from it.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

import numpy as np

#: (points, rule, n_steps) of every swept setting, most useful first (so a stopped sweep has those).
SETTINGS: list[tuple[str, str, int]] = [
    ("riemann_trapezoid", "trapezoid", 64),  # the reference
    ("riemann_trapezoid", "trapezoid", 16),
    ("gausslegendre", "left", 16),
    ("riemann_trapezoid", "trapezoid", 8),
    ("gausslegendre", "left", 8),
    ("riemann_trapezoid", "trapezoid", 4),
    ("gausslegendre", "left", 4),
    ("gausslegendre", "trapezoid", 16),
    ("riemann_trapezoid", "left", 16),
    ("riemann_trapezoid", "trapezoid", 32),  # bounds the reference's own error
    ("gausslegendre", "trapezoid", 8),
    ("riemann_trapezoid", "left", 8),
]
N_IMAGES = 25


def setting_name(method: str, rule: str, n_steps: int) -> str:
    return f"{method}-{rule}-{n_steps}"


def _worker(work: str, threads: int, settings: list[tuple[str, str, int]]) -> None:
    import torch

    from vlmsel.mini.profiling import profile_mini
    from vlmsel.profiles.compute import ProfileSettings

    torch.set_num_threads(threads)
    for method, rule, n_steps in settings:
        s = ProfileSettings(n_images=N_IMAGES, n_steps=n_steps, method=method, rule=rule)
        store = Path(work) / setting_name(method, rule, n_steps)
        t0 = time.perf_counter()
        report = profile_mini(store, settings=s, show_progress=False)
        done = sum(j.status == "written" for j in report.jobs)
        print(f"[{os.getpid()}] {store.name}: {done} entries written in {time.perf_counter() - t0:.0f} s", flush=True)


def run(args) -> int:
    settings = [SETTINGS[i] for i in args.only] if args.only else SETTINGS
    Path(args.work).mkdir(parents=True, exist_ok=True)
    procs = [
        mp.get_context("spawn").Process(target=_worker, args=(args.work, args.threads, settings))
        for _ in range(args.workers)
    ]
    for p in procs:
        p.start()
        time.sleep(5)  # let the first worker claim its first entry before the next one looks
    for p in procs:
        p.join()
    return max(p.exitcode or 0 for p in procs)


def _read_store(store, models, tasks, *, scale_seconds_to_n: bool = False):
    """Every (model, task) entry of one store, at the sweep's N images.

    Returns ``(scalars, gaps, seconds, n_blocks)``: ``scalars[model, task]`` the first N images' ``abs`` block
    scalars; the median relative completeness gap (over images and blocks) and the CPU seconds of each entry,
    (models, tasks); and each model's number of units. ``scale_seconds_to_n`` scales an entry's seconds from
    its own number of images to N (the published store profiled 100).
    """
    from vlmsel.profiles.store import read_profile

    scalars, units = {}, {}
    gaps = np.full((len(models), len(tasks)), np.nan)
    seconds = np.full((len(models), len(tasks)), np.nan)
    for i, mo in enumerate(models):
        for j, t in enumerate(tasks):
            a, man = read_profile(store, mo, t)
            scalars[mo, t] = a["abs"][:N_IMAGES]
            units[mo] = a["abs"].shape[1]
            df = (a["f_x"] - a["f_baseline"])[:N_IMAGES, None]
            gap = np.abs(a["signed"][:N_IMAGES] - df) / np.maximum(np.abs(df), 1e-12)
            gaps[i, j] = float(np.median(gap))  # over images and blocks
            secs = float(man.get("cpu_time_s", man.get("wall_time_s", np.nan)))
            seconds[i, j] = secs * (N_IMAGES / int(man["n_images"])) if scale_seconds_to_n else secs
    return scalars, gaps, seconds, np.array([units[mo] for mo in models])


def _padded(scalars, models, tasks, n_blocks, width: int) -> np.ndarray:
    """``scalars[model, task]`` as one float32 array (models, tasks, N, width), NaN past a model's units."""
    x = np.full((len(models), len(tasks), N_IMAGES, width), np.nan, dtype=np.float32)
    for i, mo in enumerate(models):
        for j, t in enumerate(tasks):
            x[i, j, :, : n_blocks[i]] = scalars[mo, t]
    return x


def collect(args) -> int:
    from vlmsel.mini.paths import default_profile_store
    from vlmsel.mini.tasks import list_tasks
    from vlmsel.mini.zoo import MINI_ZOO
    from vlmsel.profiles.store import ProfileStore

    models = [s.name for s in MINI_ZOO]
    tasks = list_tasks()
    names, scal, gaps, cpu, meta = [], [], [], [], []
    published = ProfileStore(default_profile_store())
    sources = [(setting_name("gausslegendre", "left", 50), published, True)]
    for m, r, n in SETTINGS:
        folder = Path(args.work) / setting_name(m, r, n)
        if folder.is_dir():
            sources.append((setting_name(m, r, n), ProfileStore(folder), False))
    n_blocks = None
    for name, store, is_published in sources:
        missing = [(mo, t) for mo in models for t in tasks if not store.has(mo, t)]
        if missing:
            print(f"skipping {name}: {len(missing)} of {len(models) * len(tasks)} entries missing", file=sys.stderr)
            continue
        first = store.manifest(models[0], tasks[0])
        scalars, g, c, units = _read_store(store, models, tasks, scale_seconds_to_n=is_published)
        if n_blocks is None:
            n_blocks = units
        x = _padded(scalars, models, tasks, units, int(n_blocks.max()))
        names.append(name)
        scal.append(x)
        gaps.append(g)
        cpu.append(c)
        meta.append({k: first.get(k) for k in ("method", "rule", "n_steps", "n_images", "precision", "versions")})
        print(
            f"{name}: median relative completeness gap {np.nanmedian(g):.4f}, "
            f"{np.nansum(c) / 60:.1f} min for {len(models) * len(tasks)} entries"
        )
    out = Path(args.out)
    tmp = out.with_suffix(".partial.npz")
    np.savez_compressed(
        tmp,
        settings=np.array(names),
        models=np.array(models),
        tasks=np.array(tasks),
        n_blocks=n_blocks,
        scalars=np.stack(scal),
        completeness_gap=np.stack(gaps),
        seconds=np.stack(cpu),
        meta=np.array(json.dumps(meta)),
    )
    os.replace(tmp, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {len(names)} settings")
    return 0


#: Random-init open_clip towers of the ``towers`` subcommand (one per family of the real zoo).
TOWERS = ("ViT-B-32", "RN50", "convnext_tiny")
#: Settings timed on each tower (the reference runs in float64 as well).
TOWER_SETTINGS = (
    [("gausslegendre", "left", n) for n in (4, 8, 16, 32, 50)]
    + [("riemann_trapezoid", "trapezoid", n) for n in (4, 8, 16, 32, 64)]
    + [("gausslegendre", "trapezoid", 16), ("riemann_trapezoid", "left", 16)]
)


def towers(args) -> int:
    """Profile error of every setting on random-init real towers, against float64 at 64 trapezoid steps."""
    import open_clip
    import pandas as pd
    import torch

    from vlmsel.conductance import block_conductance
    from vlmsel.mini.tasks import make_task_data
    from vlmsel.profiles.pooling import task_profile

    torch.set_num_threads(args.threads)
    # two generated images of different domains, upsampled to the towers' input size
    pics = [make_task_data(t, n=1, seed=0).images[0] for t in ("resisc", "fer")]
    rows = []
    for arch in args.towers:
        torch.manual_seed(0)
        model, _, preprocess = open_clip.create_model_and_transforms(arch, pretrained=None)
        model.eval()
        from PIL import Image

        x = torch.stack([preprocess(Image.fromarray(p)) for p in pics])

        def prof(model=model, x=x, **kw):
            t0 = time.process_time()
            r = block_conductance(model, x, internal_batch_size=args.internal_batch_size, show_progress=False, **kw)
            return task_profile(r.scalars["abs"]), r, time.process_time() - t0

        ref, ref_r, ref_s = prof(method="riemann_trapezoid", rule="trapezoid", n_steps=64, dtype=torch.float64)
        runs = [(m, r, n, False) for m, r, n in TOWER_SETTINGS] + [
            ("riemann_trapezoid", "trapezoid", args.bf16_steps, True)
        ]
        for m, r, n, bf16 in runs:
            p, res, secs = prof(method=m, rule=r, n_steps=n, autocast=bf16)
            df = (res.f_x - res.f_baseline)[:, None]
            rows.append(
                dict(
                    tower=arch,
                    method=m,
                    rule=r,
                    n_steps=n,
                    precision="bf16-autocast" if bf16 else "fp32",
                    points=n + 1,
                    profile_tv=0.5 * float(np.abs(p - ref).sum()),
                    completeness_gap=float(np.median(np.abs(res.scalars["signed"] - df) / np.abs(df))),
                    cpu_s=secs,
                    blocks=len(p),
                )
            )
            print(rows[-1], flush=True)
        rows.append(
            dict(
                tower=arch,
                method="riemann_trapezoid",
                rule="trapezoid",
                n_steps=64,
                precision="fp64",
                points=65,
                profile_tv=0.0,
                completeness_gap=float(
                    np.median(
                        np.abs(ref_r.scalars["signed"] - (ref_r.f_x - ref_r.f_baseline)[:, None])
                        / np.abs(ref_r.f_x - ref_r.f_baseline)[:, None]
                    )
                ),
                cpu_s=ref_s,
                blocks=len(ref),
            )
        )
    out = Path(args.out)
    pd.DataFrame(rows).to_csv(out.with_suffix(".partial"), index=False)
    os.replace(out.with_suffix(".partial"), out)
    print(f"wrote {out}")
    return 0


#: One choice changed at a time, at the default setting (:data:`vlmsel.conductance.options.DEFAULT_SETTING`)
#: on the same 25 images: name -> ProfileSettings fields. ``default`` is the baseline row.
VARIANTS: dict[str, dict] = {
    "default": {},
    "baseline=black": {"baseline": "black"},
    "baseline=blur": {"baseline": "blur"},
    "granularity=stage": {"granularity": "stage"},
    "precision=bf16-autocast": {"autocast": True},
}


def _variant_settings(name: str):
    from vlmsel.conductance.options import DEFAULT_SETTING
    from vlmsel.profiles.compute import ProfileSettings

    return ProfileSettings(n_images=N_IMAGES, **DEFAULT_SETTING, **VARIANTS[name])


def _variant_worker(work: str, threads: int, names: list[str]) -> None:
    import torch

    from vlmsel.mini.profiling import profile_mini

    torch.set_num_threads(threads)
    for name in names:
        t0 = time.perf_counter()
        report = profile_mini(Path(work) / name, settings=_variant_settings(name), show_progress=False)
        done = sum(j.status == "written" for j in report.jobs)
        print(f"[{os.getpid()}] {name}: {done} entries written in {time.perf_counter() - t0:.0f} s", flush=True)


def variants(args) -> int:
    """Profile the mini world once per :data:`VARIANTS` entry (``--workers`` processes share each store),
    then write their block scalars to ``--out`` in the sweep's format, with one ``n_blocks`` row per
    variant (stage granularity has fewer units than blocks)."""
    from vlmsel.mini.tasks import list_tasks
    from vlmsel.mini.zoo import MINI_ZOO
    from vlmsel.profiles.store import ProfileStore

    names = list(VARIANTS)
    Path(args.work).mkdir(parents=True, exist_ok=True)
    procs = [
        mp.get_context("spawn").Process(target=_variant_worker, args=(args.work, args.threads, names))
        for _ in range(args.workers)
    ]
    for p in procs:
        p.start()
        time.sleep(5)
    for p in procs:
        p.join()
    if any(p.exitcode for p in procs):
        return 1
    models, tasks = [s.name for s in MINI_ZOO], list_tasks()
    read = [_read_store(ProfileStore(Path(args.work) / name), models, tasks) for name in names]
    blocks = np.stack([units for *_, units in read])
    x = np.stack([_padded(scalars, models, tasks, units, int(blocks.max())) for scalars, _, _, units in read])
    g = np.stack([gaps for _, gaps, _, _ in read])
    c = np.stack([seconds for _, _, seconds, _ in read])
    meta = []
    for name in names:
        first = ProfileStore(Path(args.work) / name).manifest(models[0], tasks[0])
        meta.append(
            {
                k: first.get(k)
                for k in (
                    "method",
                    "rule",
                    "n_steps",
                    "n_images",
                    "baseline",
                    "granularity",
                    "precision",
                    "autocast",
                    "versions",
                )
            }
        )
    for v, name in enumerate(names):
        print(f"{name}: {np.nansum(c[v]) / 60:.1f} CPU-min, median completeness gap {np.nanmedian(g[v]):.4f}")
    out = Path(args.out)
    tmp = out.with_suffix(".partial.npz")
    np.savez_compressed(
        tmp,
        settings=np.array(names),
        models=np.array(models),
        tasks=np.array(tasks),
        n_blocks=blocks,
        scalars=x,
        completeness_gap=g,
        seconds=c,
        meta=np.array(json.dumps(meta)),
    )
    os.replace(tmp, out)
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB): {len(names)} variants")
    return variants_report(out)


def variants_report(path) -> int:
    """Each variant against ``default``: CPU time, profile change and the selections' agreement (DCD scores
    of every held-out target of the mini world, ``broad`` excluded as in chapter 2)."""
    import pandas as pd

    from vlmsel.chapters import open_world
    from vlmsel.evaluation.fidelity import AGREEMENT, _predict, load_sweep, profile_error, selection_agreement

    v = load_sweep(path)
    bench = open_world("mini").benchmark
    preds = {name: _predict(bench, v.profiles(name), ["broad"], None) for name in v.settings}
    rows = {}
    for name in v.settings:
        s = v.index(name)
        same_units = (v.n_blocks[s] == v.n_blocks[0]).all()
        agree = selection_agreement(preds[name].predictions, preds["default"].predictions).mean()
        rows[name] = {
            "cpu_min": float(np.nansum(v.seconds[s]) / 60),
            "cpu_vs_default": float(np.nansum(v.seconds[s]) / np.nansum(v.seconds[0])),
            "profile_tv": float(np.median(profile_error(v.profiles(name), v.profiles("default"))))
            if same_units
            else float("nan"),
            **{a: agree[a] for a in AGREEMENT},
            "ndcg5": preds[name].mean("ndcg5"),
        }
    print(pd.DataFrame.from_dict(rows, orient="index").round(4).to_markdown())
    return 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="profile the mini world at every setting")
    r.add_argument("--work", required=True, help="folder for the sweep's profile stores")
    r.add_argument("--workers", type=int, default=2, help="processes sharing each store (default 2)")
    r.add_argument("--threads", type=int, default=1, help="torch threads per worker (default 1)")
    r.add_argument("--only", type=int, nargs="*", help="indices into SETTINGS (default: all)")
    c = sub.add_parser("collect", help="write the block scalars of every finished setting into one file")
    c.add_argument("--work", required=True)
    c.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "data" / "mini" / "fidelity.npz"))
    t = sub.add_parser("towers", help="profile error per setting on random-init ViT-B-32, RN50, ConvNeXt")
    t.add_argument("--towers", nargs="*", default=list(TOWERS))
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--internal-batch-size", type=int, default=32)
    t.add_argument("--bf16-steps", type=int, default=16, help="n_steps of the bf16-autocast row (default 16)")
    t.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "data" / "mini" / "fidelity_towers.csv"))
    q = sub.add_parser("variants", help="baseline, granularity and precision variants of the default setting")
    q.add_argument("--work", required=True, help="folder for the variants' profile stores")
    q.add_argument("--workers", type=int, default=2)
    q.add_argument("--threads", type=int, default=1)
    q.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "data" / "mini" / "variants.npz"))
    q.add_argument("--report-only", action="store_true", help="only print the agreement table of --out")
    args = p.parse_args()
    if args.cmd == "variants" and args.report_only:
        return variants_report(args.out)
    return {"run": run, "collect": collect, "towers": towers, "variants": variants}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
