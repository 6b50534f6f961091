"""``vlmsel zeroshot``: zero-shot accuracy of a zoo on labelled tasks, a benchmark's ground truth.

Examples::

    vlmsel zeroshot --models "ViT-B-32 laion2b_s34b_b79k" --datasets all20 --data-root ~/data --out gt/
    vlmsel zeroshot --zoo openclip48 --images shop=labelled_photos/ --out gt/ --shard 2/8   # one of 8 jobs
    vlmsel evaluate --benchmark gt/zeroshot.csv ...                                          # use the table

One result file per (model, dataset) under ``--out`` (resumable; several processes or ``--shard`` jobs
share it, as in ``vlmsel profile``), and ``--out/zeroshot.csv`` (tidy: model, dataset, acc1,
mean_per_class_recall, acc5, n) rewritten from every result present at the end of each run. A folder
task's labels are its subfolders, which are also its class names unless ``--classnames`` says otherwise.
A thin layer over :func:`vlmsel.data.zeroshot.run_zero_shot`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from vlmsel.cli import UserError, inputs
from vlmsel.cli.options import bounded, check_folders, plain_help

DEFAULT_TEMPLATE = "a photo of a {c}."


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "zeroshot",
        help="zero-shot accuracy of a zoo on labelled tasks (a benchmark's ground truth)",
        description=plain_help(__doc__.split("\n\n")[0]) + " Resumable and shardable like "
        "`vlmsel profile` (--shard I/N); writes OUT/zeroshot.csv, usable as --benchmark.",
    )
    p.add_argument("--zoo", help="a named zoo or a model list file (.csv/.yaml/.txt)")
    p.add_argument(
        "--models",
        help="comma-separated '<arch> <pretrained>' models: with --zoo, only "
        "these models of the zoo (as in `vlmsel select`); without it, the models to use",
    )
    p.add_argument(
        "--model-config",
        action="append",
        default=[],
        metavar="PATH",
        help="register open_clip model config JSON(s) (a file or folder) for custom architectures",
    )
    p.add_argument("--random-init", action="store_true", help="random weights (offline; tests)")
    p.add_argument("--datasets", default="", help="comma-separated LOVM dataset names, or 'all' / 'all20'")
    p.add_argument(
        "--images",
        action="append",
        default=[],
        metavar="[NAME=]DIR",
        help="a folder of labelled images (one subfolder per class) as a task; repeatable",
    )
    p.add_argument(
        "--classnames",
        help="for --images: comma-separated class names in label order, or a file "
        "with one per line (default: the subfolder names, sorted)",
    )
    p.add_argument(
        "--templates",
        help=f"for --images: a file of prompt templates with {{c}}, one per line (default {DEFAULT_TEMPLATE!r})",
    )
    p.add_argument("--data-root", help="folder holding the datasets (see vlmsel.data.tasks)")
    p.add_argument("--download", action="store_true", help="let torchvision download datasets it can")
    p.add_argument("--skip-bad", action="store_true", help="skip unreadable images (counted in n_skipped)")
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default auto)")
    p.add_argument(
        "--batch-size", type=bounded(int, minimum=1), default=64, help="images per forward pass (default 64)"
    )
    p.add_argument("--seed", type=bounded(int, minimum=0), default=0, help="seeds random init (default 0)")
    p.add_argument(
        "--threads", type=bounded(int, minimum=1), default=None, help="CPU threads for torch (default: torch's choice)"
    )
    p.add_argument(
        "--shard", metavar="I/N", help="compute only shard I (0-based) of N of the plan, split by estimated cost"
    )
    p.add_argument("--out", required=True, help="results folder (created if missing)")
    p.set_defaults(func=_run)


def _lines(value: str, option: str) -> list[str]:
    path = Path(value)
    if path.is_file():
        lines = [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]
    else:
        lines = [x.strip() for x in value.split(",") if x.strip()]
    if not lines:
        raise UserError(f"{option} {value}: no entries")
    return lines


def _folder_tasks(args) -> list:
    from vlmsel.data.tasks import open_task

    templates = _lines(args.templates, "--templates") if args.templates else [DEFAULT_TEMPLATE]
    tasks = []
    for spec, name, folder in inputs.image_folders(args.images):
        task = open_task(name, path=folder, skip_bad=args.skip_bad)
        classes = sorted(p.name for p in Path(folder).iterdir() if p.is_dir() and not p.name.startswith("."))
        classnames = _lines(args.classnames, "--classnames") if args.classnames else classes
        if not classes:
            raise UserError(f"--images {spec}: {folder} has no class subfolders (labels are the subfolders' names)")
        task.classnames, task.templates = classnames, templates
        tasks.append(task)
    return tasks


def _run(args: argparse.Namespace) -> int:
    from vlmsel.data.tasks import open_task
    from vlmsel.data.zeroshot import run_zero_shot, zero_shot_table
    from vlmsel.data.zoo import ModelLoadError
    from vlmsel.files import atomic_write
    from vlmsel.profiles.compute import check_dataset_names

    shard = inputs.shard(args.shard)
    check_folders(**{"--out": args.out, "--data-root": args.data_root if args.download else None})
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    try:
        entries = inputs.zoo_entries(args)
        datasets = inputs.dataset_names(args.datasets)
        if datasets:
            check_dataset_names(datasets)
        tasks = [open_task(d, root=args.data_root, download=args.download, skip_bad=args.skip_bad) for d in datasets]
        tasks += _folder_tasks(args)
        if not tasks:
            raise UserError("say which tasks: --datasets a,b,... and/or --images DIR")
        results = run_zero_shot(
            entries,
            tasks,
            args.out,
            pretrained=not args.random_init,
            device=args.device,
            batch_size=args.batch_size,
            seed=args.seed,
            shard=shard,
            skip_bad=args.skip_bad,
        )
    except ModelLoadError as err:
        raise UserError(str(err)) from err
    status = [r["status"] for r in results]
    which = f" (shard {shard[0]}/{shard[1]})" if shard is not None else ""
    claimed = f", {status.count('claimed')} being computed by another process" if "claimed" in status else ""
    print(
        f"zero-shot results {args.out}{which}: {status.count('written')} written, {status.count('done')} already "
        f"done{claimed} ({len(results)} of {len(entries) * len(tasks)} (model, dataset))"
    )
    table = zero_shot_table(args.out)
    csv = Path(args.out) / "zeroshot.csv"
    with atomic_write(csv, "w") as fh:
        table.to_csv(fh, index=False)
    print(f"wrote {csv}: {len(table)} rows")
    for r in results:
        if r["status"] == "written":
            print(
                f"  {r['model']} / {r['dataset']}: acc1 {r['acc1']:.3f}, mean per-class recall "
                f"{r['mean_per_class_recall']:.3f} ({r['n']} images)"
            )
    return 0
