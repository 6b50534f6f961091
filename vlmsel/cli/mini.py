"""``vlmsel mini``: the mini world (tiny CLIP models trained here on generated tasks).

Subcommands: ``models`` (list the zoo and what is trained), ``tasks`` (list or generate the tasks),
``train`` (train zoo models, resumable: finished models are skipped), ``groundtruth`` (zero-shot
accuracy of every trained model on every task -> ``groundtruth.csv``), ``realism`` (the world's
task-similarity figures beside LOVM's, and whether the world is accepted), ``profile`` (block
conductance of the mini zoo on the mini tasks into a profile store, through
:func:`vlmsel.profiles.compute.run_profiles`).

Examples::

    vlmsel mini train                       # the whole zoo, skipping trained models
    vlmsel mini train --model "mini-rn-w8 web" --force
    vlmsel mini groundtruth                 # -> data/mini/groundtruth.csv and models.csv
    vlmsel mini realism                     # the mini world's ground truth beside LOVM's
    vlmsel mini profile                     # -> data/mini/profiles (100 images per task, the default setting)
    vlmsel mini profile --objective zs_max_logit   # -> data/mini/profiles_zs_max_logit
"""

from __future__ import annotations

import argparse
import csv
import time

# The mini world's modules are imported inside the functions below: they pull in torch, which parsing
# (and `vlmsel mini --help`) must not wait for.
from pathlib import Path

from vlmsel.cli import UserError
from vlmsel.cli.options import bounded, plain_help
from vlmsel.conductance.options import DEFAULT_METHOD, DEFAULT_N_STEPS, DEFAULT_RULE
from vlmsel.files import atomic_write


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "mini",
        help="the mini world: train the tiny CLIP zoo, tasks, ground truth",
        description=plain_help(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="mini_command", metavar="MINI_COMMAND")

    p = sub.add_parser("models", help="list the mini zoo and which models are trained")
    p.add_argument("--dir", type=Path, default=None, help="mini data folder (default: data/mini or $VLMSEL_MINI_DIR)")
    p.set_defaults(func=_models)

    p = sub.add_parser("tasks", help="list the mini tasks; with --out, write each task's images as PNG files")
    p.add_argument("--n", type=bounded(int, minimum=1), default=None, help="images per task (default 1000)")
    p.add_argument("--seed", type=bounded(int, minimum=0), default=0)
    p.add_argument("--out", type=Path, default=None, help="write <out>/<task>/<image_id>.png and labels.csv")
    p.set_defaults(func=_tasks)

    p = sub.add_parser("train", help="train mini models (skips finished ones unless --force)")
    p.add_argument(
        "--model",
        action="append",
        default=None,
        help="full model name '<arch> <mixture>' (repeatable; default: the whole zoo)",
    )
    p.add_argument("--dir", type=Path, default=None, help="mini data folder (default: data/mini or $VLMSEL_MINI_DIR)")
    p.add_argument("--steps", type=bounded(int, minimum=1), default=None, help="override the number of training steps")
    p.add_argument(
        "--threads",
        type=bounded(int, minimum=1),
        default=1,
        help="torch threads (weights are reproducible per thread count)",
    )
    p.add_argument("--shard", default=None, help="K/N: train only models with index %% N == K (parallel workers)")
    p.add_argument("--force", action="store_true", help="retrain models that are already trained")
    p.set_defaults(func=_train)

    p = sub.add_parser("groundtruth", help="zero-shot accuracy of every trained mini model on every mini task")
    p.add_argument("--dir", type=Path, default=None, help="mini data folder (default: data/mini or $VLMSEL_MINI_DIR)")
    p.add_argument("--n", type=bounded(int, minimum=1), default=None, help="images per task (default 1000)")
    p.add_argument("--out", type=Path, default=None, help="output CSV (default: <dir>/groundtruth.csv)")
    p.add_argument("--threads", type=bounded(int, minimum=1), default=None, help="torch threads")
    p.set_defaults(func=_groundtruth)

    p = sub.add_parser("realism", help="task-similarity figures of the mini world beside LOVM's (no method is run)")
    p.add_argument("--dir", type=Path, default=None, help="mini data folder (default: data/mini or $VLMSEL_MINI_DIR)")
    p.add_argument("--no-baselines", action="store_true", help="skip the INB / average-rank / oracle_sim rows")
    p.set_defaults(func=_realism)

    p = sub.add_parser("profile", help="profile the mini zoo on the mini tasks (resumable)")
    p.add_argument("--dir", type=Path, default=None, help="mini data folder (default: data/mini or $VLMSEL_MINI_DIR)")
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="profile store (default: <dir>/profiles, or <dir>/profiles_zs_max_logit for that objective)",
    )
    p.add_argument("--model", action="append", default=None, help="full model name (repeatable; default: all)")
    p.add_argument("--task", action="append", default=None, help="task name (repeatable; default: all)")
    p.add_argument(
        "--n-images",
        type=bounded(int, minimum=1),
        default=100,
        help="images per task (default 100, as the committed stores; the method pools the first 25)",
    )
    p.add_argument(
        "--n-steps",
        type=bounded(int, minimum=1),
        default=DEFAULT_N_STEPS,
        help=f"integration steps (default {DEFAULT_N_STEPS}: the project's default setting, chosen by the fidelity "
        "sweep, with which the committed stores are made; the paper-like setting is --n-steps 50 "
        "--method gausslegendre --rule left)",
    )
    p.add_argument(
        "--method", default=DEFAULT_METHOD, help=f"riemann_trapezoid or gausslegendre (default {DEFAULT_METHOD})"
    )
    p.add_argument("--rule", default=DEFAULT_RULE, help=f"trapezoid or left (default {DEFAULT_RULE})")
    p.add_argument("--objective", default="norm", help="norm (default) or zs_max_logit")
    p.add_argument("--threads", type=bounded(int, minimum=1), default=None, help="torch threads")
    p.set_defaults(func=_profile)

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _check_dir(args) -> None:
    """The mini data folder the command reads (--dir, else $VLMSEL_MINI_DIR or the packaged one) exists."""
    from vlmsel.mini.paths import check_mini_dir

    if args.dir is None:
        check_mini_dir()
    elif not args.dir.is_dir():
        raise UserError(f"--dir {args.dir}: no such folder; give a folder made by `vlmsel mini train`")


def _models(args) -> int:
    from vlmsel.mini.models import is_trained
    from vlmsel.mini.zoo import MINI_ZOO

    _check_dir(args)
    for spec in MINI_ZOO:
        mark = "trained" if is_trained(spec.name, args.dir) else "-"
        print(f"{spec.name:36s} seed={spec.seed} steps={spec.steps} {mark}")
    return 0


def _tasks(args) -> int:
    from vlmsel.mini.tasks import DEFAULT_N_IMAGES, TASKS, make_task_data

    n = args.n or DEFAULT_N_IMAGES
    if args.out is None:
        for task in TASKS.values():
            print(f"{task.name:14s} {task.n_classes:3d} classes  {task.description}")
        return 0
    from PIL import Image

    t0 = time.perf_counter()
    for name in TASKS:
        data = make_task_data(name, n=n, seed=args.seed)
        folder = args.out / name
        folder.mkdir(parents=True, exist_ok=True)
        for img, iid in zip(data.images, data.image_ids):
            Image.fromarray(img).save(folder / f"{iid}.png")
        with atomic_write(folder / "labels.csv", "w") as fh:
            w = csv.writer(fh)
            w.writerow(["image_id", "label", "classname"])
            for iid, lab in zip(data.image_ids, data.labels):
                w.writerow([iid, int(lab), data.classnames[lab]])
    print(f"wrote {len(TASKS)} tasks x {n} images to {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


def _select(names: list[str] | None, shard: str | None) -> list:
    from vlmsel.mini.zoo import MINI_ZOO, get_spec

    specs = [get_spec(n) for n in names] if names else list(MINI_ZOO)
    if shard:
        try:
            k, n = (int(v) for v in shard.split("/"))
            assert 0 <= k < n
        except (ValueError, AssertionError):
            raise UserError(f"--shard must be K/N with 0 <= K < N, got {shard!r}") from None
        specs = [s for i, s in enumerate(specs) if i % n == k]
    return specs


def _train(args) -> int:
    import torch

    from vlmsel.mini.models import is_trained
    from vlmsel.mini.training import save_trained, train

    torch.set_num_threads(args.threads)
    for spec in _select(args.model, args.shard):
        if is_trained(spec.name, args.dir) and not args.force:
            print(f"{spec.name}: already trained, skipped", flush=True)
            continue
        state = train(spec, steps=args.steps)
        folder = save_trained(state, spec, args.dir, steps=args.steps)
        print(
            f"{spec.name}: loss {state.losses[0]:.3f} -> {sum(state.losses[-50:]) / len(state.losses[-50:]):.3f}, "
            f"{state.wall_time_s:.0f} s -> {folder}",
            flush=True,
        )
    return 0


def _groundtruth(args) -> int:
    import torch

    from vlmsel.mini.groundtruth import compute_groundtruth, default_groundtruth_path
    from vlmsel.mini.tasks import DEFAULT_N_IMAGES

    _check_dir(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    out = args.out or default_groundtruth_path(args.dir)
    t0 = time.perf_counter()
    table = compute_groundtruth(root=args.dir, n_images=args.n or DEFAULT_N_IMAGES, out=out)
    print(
        f"wrote {out}: {table['model'].nunique()} models x {table['dataset'].nunique()} tasks "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0


def _realism(args) -> int:
    from vlmsel.mini.realism import acceptance, lovm_world, mini_world_table, realism_table

    _check_dir(args)
    try:
        worlds = [lovm_world(), mini_world_table(args.dir)]
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from None
    table = realism_table(worlds, baselines=not args.no_baselines)
    with_what = table.set_index("what")
    print(with_what.to_string(float_format=lambda v: f"{v:.3f}"))
    ok, lines = acceptance(table)
    print()
    print("\n".join(lines))
    print("accepted" if ok else "NOT accepted: iterate on the world's design (data/mini/README.md), not on a method")
    return 0


def _profile(args) -> int:
    import torch

    from vlmsel.mini.paths import default_profile_store
    from vlmsel.mini.profiling import profile_mini
    from vlmsel.profiles.compute import ProfileSettings

    _check_dir(args)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = ProfileSettings(
        n_images=args.n_images, n_steps=args.n_steps, method=args.method, rule=args.rule, objective=args.objective
    )
    store = args.out or default_profile_store(args.dir, objective=args.objective)
    t0 = time.perf_counter()
    report = profile_mini(store, args.model, args.task, settings, root=args.dir)
    done = sum(j.status in ("done", "written") for j in report.jobs)
    print(f"{store}: {done}/{len(report.jobs)} (model, task) profiles in {time.perf_counter() - t0:.1f} s")
    for job in report.failed:
        print(f"failed: {job.model.name} on {job.dataset}: {job.error}")
    return 1 if report.failed else 0
