"""``vlmsel profile``: block conductance of a zoo on a set of tasks, into a profile store.

Examples::

    vlmsel profile --zoo lovm35 --datasets cifar100,dtd --data-root ~/data --n-images 25 --n-steps 50 \\
        --device auto --out profiles/
    vlmsel profile --zoo openclip48 --datasets all20 --out profiles/ --dry-run      # plan and cost only
    vlmsel profile --models "RN50 openai,ViT-B-32 laion2b_s34b_b79k" --images shop=photos/ --out p/
    vlmsel profile --zoo my_models.csv --images photos/ --random-init --out p/   # offline, random weights
    vlmsel profile --zoo openclip48 --datasets all20 --out p/ --shard 3/16          # one of 16 independent jobs
    vlmsel profile --zoo openclip48 --datasets all20 --out p/ --submit slurm --workers 16   # a Slurm job array
    vlmsel profile --zoo openclip48 --datasets all20 --out p/ --status --workers 16         # progress of all jobs

A thin layer over :func:`vlmsel.profiles.compute.run_profiles` (and :mod:`vlmsel.cli.cluster` for
``--submit``); rerunning the same command resumes.
"""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from vlmsel.cli import UserError, inputs
from vlmsel.cli.options import bounded, check_folders

# The library modules this command runs are imported inside the functions below: they pull in torch,
# open_clip, scipy and pandas, which parsing (and `vlmsel profile --help`) must not wait for.
from vlmsel.conductance.options import (
    BASELINES,
    DEFAULT_INTERNAL_BATCH_SIZE,
    DEFAULT_METHOD,
    DEFAULT_N_STEPS,
    DEFAULT_RULE,
    GRANULARITIES,
    METHODS,
    OBJECTIVES,
    PAPER_LIKE_SETTING,
    RULES,
)
from vlmsel.data import PRECISIONS


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "profile",
        help="profile a zoo on tasks (block conductance) into a profile store",
        description="Compute the per-image block conductance (all four block scalars) of every model of a zoo "
        "on N images of every task, one store entry per (model, dataset). Rerun to resume. Any number of "
        "processes may share a store; --shard I/N splits the plan by estimated cost for N independent jobs, "
        "--submit runs them as a Slurm job array (submitit), --status shows the progress of all of them.",
        allow_abbrev=False,  # --submit rewrites the command for its jobs: every option is spelled out
    )
    which = p.add_argument_group("models")
    which.add_argument(
        "--zoo",
        help="a named zoo (openclip48, lovm35, openclip121, or a registered one such as mini) "
        "or a model list file (.csv/.yaml/.txt)",
    )
    which.add_argument(
        "--models",
        help="comma-separated '<arch> <pretrained>' models: with --zoo, only "
        "these models of the zoo (as in `vlmsel select`); without it, the models to use",
    )
    which.add_argument(
        "--model-config",
        action="append",
        default=[],
        metavar="PATH",
        help="register open_clip model config JSON(s) (a file or folder) for custom architectures",
    )
    which.add_argument(
        "--random-init",
        action="store_true",
        help="random weights (same architectures): runs offline, for tests and dry runs of the pipeline",
    )
    tasks = p.add_argument_group("tasks")
    tasks.add_argument(
        "--datasets",
        default="",
        help="comma-separated LOVM dataset names, or 'all' (23) / 'all20' (the 20 in open_clip's table)",
    )
    tasks.add_argument(
        "--images",
        action="append",
        default=[],
        metavar="[NAME=]DIR",
        help="a folder of images as a task (recursive); repeatable",
    )
    tasks.add_argument("--data-root", help="folder holding the datasets (see vlmsel.data.tasks)")
    tasks.add_argument("--download", action="store_true", help="let torchvision download datasets it can")
    tasks.add_argument(
        "--skip-bad", action="store_true", help="skip unreadable / non-image files (listed in the manifest)"
    )
    run = p.add_argument_group("profiling")
    run.add_argument("--n-images", type=bounded(int, minimum=1), default=25, help="images per task (default 25)")
    run.add_argument(
        "--n-steps",
        type=bounded(int, minimum=1),
        default=DEFAULT_N_STEPS,
        help=f"integration steps (default {DEFAULT_N_STEPS}, chosen by the fidelity sweep; the paper-like "
        f"setting is --method {PAPER_LIKE_SETTING['method']} --rule {PAPER_LIKE_SETTING['rule']} "
        f"--n-steps {PAPER_LIKE_SETTING['n_steps']})",
    )
    run.add_argument(
        "--seed", type=bounded(int, minimum=0), default=0, help="sampling seed, also seeds random init (default 0)"
    )
    run.add_argument(
        "--method", default=DEFAULT_METHOD, choices=list(METHODS), help=f"path points (default {DEFAULT_METHOD})"
    )
    run.add_argument("--rule", default=DEFAULT_RULE, choices=list(RULES), help=f"step rule (default {DEFAULT_RULE})")
    run.add_argument("--baseline", default="zeros", choices=list(BASELINES))
    run.add_argument("--objective", default="norm", choices=list(OBJECTIVES))
    run.add_argument(
        "--no-zero-shot",
        action="store_true",
        help="do not record the zero-shot logits of tasks with class names (they cost one text-tower pass over "
        "the K x J prompts per model and task: ImageNet's 80,000 prompts are slow on a CPU); the target-only "
        "scores of `vlmsel evaluate` need them",
    )
    run.add_argument("--granularity", default="block", choices=list(GRANULARITIES))
    run.add_argument(
        "--internal-batch-size",
        type=bounded(int, minimum=1),
        default=DEFAULT_INTERNAL_BATCH_SIZE,
        help=f"path points per pass (memory bound; default {DEFAULT_INTERNAL_BATCH_SIZE})",
    )
    run.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default auto)")
    run.add_argument("--precision", default="fp32", choices=list(PRECISIONS))
    run.add_argument("--autocast", action="store_true", help="bfloat16 autocast for the forward passes")
    run.add_argument(
        "--threads", type=bounded(int, minimum=1), default=None, help="CPU threads for torch (default: torch's choice)"
    )
    out = p.add_argument_group("output")
    out.add_argument("--out", required=True, help="profile store folder (created if missing)")
    out.add_argument("--overwrite", action="store_true", help="recompute entries stored with other settings")
    out.add_argument("--dry-run", action="store_true", help="print the plan and its estimated cost; compute nothing")
    out.add_argument(
        "--throughput",
        type=bounded(float, above=0),
        default=None,
        metavar="GFLOPS",
        help="effective GFLOP/s for the cost estimate (default: vlmsel.profiles.compute.THROUGHPUT_GFLOPS)",
    )
    many = p.add_argument_group("many workers (one store, shared)")
    many.add_argument(
        "--shard",
        metavar="I/N",
        help="compute only shard I (0-based) of N of the plan, split by estimated "
        "cost; with --dry-run, print every shard's cost and shard I's entries",
    )
    many.add_argument(
        "--status",
        action="store_true",
        help="print what is done, running (claimed: owner and age) and "
        "missing, and the estimated time left; compute nothing (with --workers N: per shard)",
    )
    many.add_argument(
        "--submit",
        choices=SUBMIT_ENGINES,
        help="submit the plan as --workers jobs through submitit: "
        "'slurm' (a job array) or 'local' (local processes); a rerun submits only shards with missing entries",
    )
    many.add_argument(
        "--workers",
        type=bounded(int, minimum=1),
        default=None,
        metavar="N",
        help="number of shards / jobs for --submit and --status",
    )
    many.add_argument("--no-wait", action="store_true", help="with --submit: return once the jobs are submitted")
    many.add_argument(
        "--jobs-dir", help="with --submit: submitit's folder for job logs (default: STORE.jobs beside the store)"
    )
    many.add_argument(
        "--timeout-min",
        type=bounded(int, minimum=1),
        default=24 * 60,
        help="with --submit: time limit per job, minutes (default 1440)",
    )
    many.add_argument(
        "--gpus-per-job",
        type=bounded(int, minimum=0),
        default=None,
        help="with --submit: GPUs per job (default 1 for slurm unless --device cpu, 0 for local)",
    )
    many.add_argument("--slurm-partition", help="with --submit slurm: the partition")
    many.add_argument(
        "--submit-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --submit: any other submitit parameter (e.g. slurm_array_parallelism=8, cpus_per_task=8)",
    )
    p.set_defaults(func=_run)


SUBMIT_ENGINES = ("slurm", "local")
#: Options of the submitting command that its jobs do not get (value-taking, then flags).
_SUBMIT_OPTIONS = (
    "--submit",
    "--workers",
    "--jobs-dir",
    "--timeout-min",
    "--gpus-per-job",
    "--slurm-partition",
    "--submit-param",
)
_SUBMIT_FLAGS = ("--no-wait",)


def _fmt_seconds(s: float) -> str:
    if math.isnan(s):
        return "?"
    if s < 120:
        return f"{s:.0f} s"
    if s < 7200:
        return f"{s / 60:.1f} min"
    return f"{s / 3600:.1f} h"


def _run(args: argparse.Namespace) -> int:
    from vlmsel.data.zoo import ModelLoadError, resolve_device
    from vlmsel.profiles import compute as profiling

    shard = inputs.shard(args.shard)
    modes = [
        name for name, on in (("--dry-run", args.dry_run), ("--status", args.status), ("--submit", args.submit)) if on
    ]
    if len(modes) > 1:
        raise UserError(f"{' and '.join(modes)} cannot be combined; give one")
    if args.submit and not args.workers:
        raise UserError("--submit needs --workers N (the number of jobs the plan is split into)")
    if args.submit and shard is not None:
        raise UserError("--submit splits the plan itself; leave out --shard (use --workers N)")
    if args.workers and not (args.submit or args.status):
        raise UserError("--workers goes with --submit or --status (a single job takes --shard I/N)")
    if not (args.dry_run or args.status):  # a plan or a progress report only reads the store
        check_folders(
            **{
                "--out": args.out,
                "--data-root": args.data_root if args.download else None,
                "--jobs-dir": _jobs_dir(args) if args.submit else None,
            }
        )
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    try:
        settings = profiling.ProfileSettings(
            n_images=args.n_images,
            n_steps=args.n_steps,
            seed=args.seed,
            method=args.method,
            rule=args.rule,
            baseline=args.baseline,
            objective=args.objective,
            granularity=args.granularity,
            internal_batch_size=args.internal_batch_size,
            autocast=args.autocast,
            pretrained=not args.random_init,
            precision=args.precision,
            zero_shot=not args.no_zero_shot,
        )
        entries = inputs.zoo_entries(args)
        datasets = inputs.dataset_names(args.datasets)
        if datasets:
            profiling.check_dataset_names(datasets)
        image_tasks = inputs.image_tasks(args.images, skip_bad=args.skip_bad)
        if not datasets and not image_tasks:
            raise UserError("say which tasks: --datasets a,b,... and/or --images DIR")
        planning = args.dry_run or args.status or args.submit
        device = resolve_device(args.device, available=not planning)  # a plan may be for another machine
        if planning:
            from vlmsel.data.tasks import sample

            names = [Path(d).resolve().name if Path(d).is_dir() and d not in _lovm() else d for d in datasets]
            names += [t.name for t in image_tasks]
            # image folders are at hand: compare their images with stored entries, as the run will
            samples = {t.name: sample(t, settings.n_images, settings.seed, skip_bad=args.skip_bad) for t in image_tasks}
            n_shards = shard[1] if shard is not None else args.workers
            jobs = profiling.plan_profiles(
                entries,
                names,
                args.out,
                settings,
                device=device,
                throughput_gflops=args.throughput,
                overwrite=args.overwrite,
                samples=samples,
                n_shards=n_shards,
            )
            if args.status:
                _print_status(args.out, jobs, device)
            elif args.submit:
                return _submit(args, jobs, device)
            elif shard is not None:
                _print_shards(jobs, shard, device)
                _print_plan([j for j in jobs if j.shard == shard[0]], settings, device, args.throughput)
            else:
                _print_plan(jobs, settings, device, args.throughput)
            return 0
        report = profiling.run_profiles(
            entries,
            [*datasets, *image_tasks],
            args.out,
            settings,
            device=device,
            data_root=args.data_root,
            download=args.download,
            skip_bad=args.skip_bad,
            overwrite=args.overwrite,
            shard=shard,
        )
    except ModelLoadError as err:
        raise UserError(str(err)) from err
    table = report.table()
    counts = table["status"].value_counts().to_dict()
    claimed = (
        f", {counts['claimed']} being computed by another process (rerun later for them)"
        if counts.get("claimed")
        else ""
    )
    which = f" (shard {shard[0]}/{shard[1]})" if shard is not None else ""
    shape = (
        f"{len(entries)} models x {len(table) // max(len(entries), 1)} tasks"
        if shard is None
        else f"{len(table)} entries of {table['model'].nunique()} models"
    )
    print(
        f"profile store {args.out}{which}: {counts.get('written', 0)} written, {counts.get('done', 0)} already done, "
        f"{counts.get('failed', 0)} failed{claimed} ({shape})"
    )
    for j in report.jobs:
        if j.note:
            print(f"  note: {j.note}")
    for s in report.samples.values():
        for image_id, why in s.skipped:
            print(f"  skipped in {s.task}: {image_id} ({why})")
    written = table[table["status"] == "written"]
    if len(written):
        print(f"  wall time per (model, dataset): mean {written['wall_time_s'].mean():.1f} s on {device}")
    for j in report.failed:
        print(f"  FAILED {j.model.name} / {j.dataset}: {j.error}", file=sys.stderr)
    return 1 if report.failed else 0


def _lovm() -> list[str]:
    from vlmsel.data.lovm import lovm_datasets

    return lovm_datasets()


def _print_plan(jobs, settings, device, throughput) -> None:
    from vlmsel.profiles import compute as profiling

    table = profiling.plan_table(jobs)
    todo = table[table["status"] == "todo"]
    rate = (
        throughput
        if throughput is not None
        else profiling.THROUGHPUT_GFLOPS.get(device.type, profiling.THROUGHPUT_GFLOPS["cpu"])
    )
    per_model = todo.groupby("model", sort=False).agg(
        datasets=("dataset", "size"), image_gflops=("image_gflops", "first"), est_seconds=("est_seconds", "sum")
    )
    n_models, n_sets = table["model"].nunique(), table["dataset"].nunique()
    counts = table["status"].value_counts().to_dict()
    extra = "".join(
        f", {counts[k]} {what}"
        for k, what in (
            ("refused", "refused (stored with other settings or images; the run would stop)"),
            ("claimed", "being computed by another process"),
        )
        if counts.get(k)
    )
    print(
        f"plan: {n_models} models x {n_sets} datasets = {len(table)} entries; "
        f"{counts.get('done', 0)} already done, {len(todo)} to compute{extra}"
    )
    for row in table.itertuples():
        if row.status in ("refused", "claimed") or row.note:
            print(f"  {row.model} / {row.dataset}: {row.error or row.note}")
    print(
        f"settings: N={settings.n_images}, n_steps={settings.n_steps}, {settings.method}/{settings.rule}, "
        f"baseline={settings.baseline}, objective={settings.objective}, weights={settings.weights}, device={device}"
    )
    if len(per_model):
        show = per_model.assign(est=per_model["est_seconds"].map(_fmt_seconds)).drop(columns="est_seconds")
        print(show.to_string())
    total = float(todo["est_seconds"].sum())
    unknown = int(todo["est_seconds"].isna().sum())
    paper, beside = PAPER_LIKE_SETTING, ""
    if (settings.method, settings.rule, settings.n_steps) != (paper["method"], paper["rule"], paper["n_steps"]):
        alt = total * (paper["n_steps"] + 1) / (settings.n_steps + 1)
        beside = (
            f"; the same plan at the paper-like setting ({paper['method']}/{paper['rule']}, "
            f"n_steps={paper['n_steps']}): {_fmt_seconds(alt)} ({alt:.0f} s)"
        )
    print(
        f"estimated cost: {_fmt_seconds(total)} ({total:.0f} s) on {device.type}"
        + (f"; {unknown} entries of unknown cost" if unknown else "")
        + beside
    )
    print(
        f"cost model: image GFLOPs x N x (n_steps+1) x {profiling.PASSES_PER_POINT} (forward + backward) / "
        f"{rate:g} GFLOP/s effective ({'given' if throughput is not None else 'vlmsel.profiles.compute.THROUGHPUT_GFLOPS'}"
        f"{'' if throughput is not None else '; ' + profiling.THROUGHPUT_SOURCE.get(device.type, 'assumed')})"
    )


def _shard_table(jobs):
    """Per shard: entries, to compute, done, running, models to load, estimated seconds of what is left."""
    from vlmsel.profiles import compute as profiling

    table = profiling.plan_table(jobs)
    left = table["status"].isin(["todo", "claimed"])
    return (
        table.assign(left_s=table["est_seconds"].where(left, 0.0))
        .groupby("shard")
        .agg(
            entries=("dataset", "size"),
            todo=("status", lambda s: int((s == "todo").sum())),
            done=("status", lambda s: int((s == "done").sum())),
            running=("status", lambda s: int((s == "claimed").sum())),
            models=("model", "nunique"),
            est_seconds=("est_seconds", "sum"),
            left_s=("left_s", "sum"),
        )
    )


def _print_shards(jobs, shard, device) -> None:
    per = _shard_table(jobs)
    index, count = shard
    print(f"shards: the plan split into {count} by estimated cost (on {device.type}); this is shard {index}")
    show = per.assign(est=per["est_seconds"].map(_fmt_seconds), left=per["left_s"].map(_fmt_seconds))
    print(show[["entries", "todo", "done", "running", "models", "est", "left"]].to_string())
    mean = float(per["est_seconds"].mean())
    if mean > 0:
        print(f"largest shard: {float(per['est_seconds'].max()) / mean:.2f} x the mean")
    print(f"shard {index}/{count}:")


def _print_status(store, jobs, device) -> None:
    import time

    from vlmsel.files import claim_owner
    from vlmsel.profiles import compute as profiling
    from vlmsel.profiles.store import claim_path

    table = profiling.plan_table(jobs)
    counts = table["status"].value_counts().to_dict()
    print(
        f"profile store {store}: {len(table)} entries in the plan: {counts.get('done', 0)} done, "
        f"{counts.get('claimed', 0)} running, {counts.get('todo', 0)} missing"
        + (f", {counts['refused']} refused (other settings or images)" if counts.get("refused") else "")
    )
    now, left, workers = time.time(), 0.0, set()
    for j in jobs:
        if j.status == "claimed":
            owner = claim_owner(claim_path(store, j.model.name, j.dataset)) or {}
            since = owner.get("since")
            age = now - since if isinstance(since, (int, float)) else float("nan")
            workers.add((owner.get("host"), owner.get("pid")))
            print(
                f"  running  {j.model.name} / {j.dataset}: pid {owner.get('pid', '?')} on {owner.get('host', '?')}, "
                f"for {_fmt_seconds(age)} (estimated {_fmt_seconds(j.est_seconds)})"
            )
            left += max(j.est_seconds - age, 0.0) if age == age else j.est_seconds
        elif j.status == "todo":
            left += j.est_seconds
    missing = [j for j in jobs if j.status == "todo"]
    for j in missing[:10]:
        print(f"  missing  {j.model.name} / {j.dataset}" + (f" (shard {j.shard})" if j.shard is not None else ""))
    if len(missing) > 10:
        print(f"  ... and {len(missing) - 10} more missing")
    for j in jobs:
        if j.status == "refused":
            print(f"  refused  {j.model.name} / {j.dataset}: {j.error}")
    if jobs and jobs[0].shard is not None:
        per = _shard_table(jobs)
        complete = int((per["todo"] + per["running"] == 0).sum())
        print(f"shards: {complete} of {len(per)} complete")
        show = per[per["todo"] + per["running"] > 0]
        if len(show):
            print(
                show.assign(left=show["left_s"].map(_fmt_seconds))[
                    ["entries", "done", "running", "todo", "left"]
                ].to_string()
            )
    busy = (
        f"; {len(workers)} worker(s) running now: about {_fmt_seconds(left / len(workers))} at that rate"
        if workers
        else ""
    )
    print(f"estimated time left: {_fmt_seconds(left)} of work on {device.type}{busy}")


def _worker_argv(argv: list[str]) -> list[str]:
    """The submitting command without its --submit options (``--opt value`` and ``--opt=value``)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        name = a.split("=", 1)[0]
        if name in _SUBMIT_OPTIONS:
            skip = "=" not in a
            continue
        if a in _SUBMIT_FLAGS:
            continue
        out.append(a)
    return out


def _submit(args: argparse.Namespace, jobs, device) -> int:
    from vlmsel.cli import cluster

    n = args.workers
    per = _shard_table(jobs)
    refused = [j for j in jobs if j.status == "refused"]
    if refused:
        raise UserError(refused[0].error + (f" (and {len(refused) - 1} more entries)" if len(refused) > 1 else ""))
    wanted = [int(i) for i, row in per.iterrows() if row["todo"] > 0]
    running = [int(i) for i, row in per.iterrows() if row["todo"] == 0 and row["running"] > 0]
    done = len(per) - len(wanted) - len(running)
    print(
        f"plan: {len(jobs)} entries in {n} shards: {done} complete, {len(running)} being computed, "
        f"{len(wanted)} to submit"
    )
    if not wanted:
        return 0
    argv = _worker_argv(list(getattr(args, "argv", None) or sys.argv[1:]))
    if argv and argv[0] == "profile":
        argv = argv[1:]
    argvs = {i: ["profile", *argv, "--shard", f"{i}/{n}"] for i in wanted}
    params: dict = {"timeout_min": args.timeout_min}
    gpus = args.gpus_per_job
    if gpus is None:
        gpus = 1 if args.submit == "slurm" and device.type != "cpu" else 0
    if gpus:
        params["gpus_per_node"] = gpus
    if args.slurm_partition:
        params["slurm_partition"] = args.slurm_partition
    if args.submit == "slurm":
        params["slurm_array_parallelism"] = n
        params["name"] = "vlmsel-profile"
    for item in args.submit_param:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UserError(f"--submit-param {item!r}: expected KEY=VALUE")
        params[key] = _value(value)
    folder = _jobs_dir(args)
    try:
        submitted = cluster.submit_commands(argvs, engine=args.submit, folder=folder, parameters=params)
    except ValueError:
        raise
    except Exception as err:  # sbatch missing or refusing: one line, not a traceback
        raise UserError(
            f"--submit {args.submit}: submitting failed: {str(err).strip().splitlines()[-1] if str(err).strip() else type(err).__name__}"
        ) from None
    ids = ", ".join(f"{s.shard}: {s.job_id}" for s in submitted)
    print(f"submitted {len(submitted)} job(s) through submitit ({args.submit}; logs in {folder}): shard: job id {ids}")
    if args.no_wait:
        print(f"follow them with: vlmsel profile ... --out {args.out} --status --workers {n}")
        return 0
    sys.stdout.flush()
    outcome = cluster.wait(submitted)
    failed = {i: why for i, why in outcome.items() if why}
    print(f"{len(outcome) - len(failed)} of {len(outcome)} job(s) succeeded")
    for s in submitted:
        if failed.get(s.shard):
            print(
                f"  FAILED shard {s.shard}/{n} (job {s.job_id}): {failed[s.shard]}; log: {s.job.paths.stderr}",
                file=sys.stderr,
            )
    if failed:
        print("rerun the same command to submit the shards that are still missing entries", file=sys.stderr)
    return 1 if failed else 0


def _jobs_dir(args: argparse.Namespace) -> Path:
    """submitit's folder: --jobs-dir, else STORE.jobs beside the store."""
    store = Path(args.out).resolve()
    return Path(args.jobs_dir) if args.jobs_dir else store.with_name(store.name + ".jobs")


def _value(text: str):
    """A --submit-param value: an int, a float, true/false, or the string."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)
