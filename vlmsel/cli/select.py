"""``vlmsel select``: rank a zoo's models for a folder of your own unlabeled images.

Examples::

    vlmsel select --images photos/ --zoo mini --top 5 --report report.html        # offline, mini world
    vlmsel select --images photos/ --zoo openclip48 --profiles my_store/ --json ranking.json
    vlmsel select --images photos/ --zoo openclip48 --max-gflops 10 --report r.html
    vlmsel select --images a.jpg b.jpg c.jpg --zoo models.csv --benchmark acc.csv --profiles p/ --random-init
    vlmsel select --images photos/ --zoo mini --classes cat,dog,bird          # enables the target-only scores
    vlmsel select --images photos/ --zoo mini --method dcd                    # the paper's method

The ranking method defaults to the one this project's evidence supports (the pre-registered study of
``vlmsel study``, :mod:`vlmsel.recommend.evidence`); the output also ranks with the paper's DCD, the scale-free
DCD and the best cheap signal, side by side (``--no-compare`` skips them).

Only your images' profiles are computed (cached: a rerun is instant); source profiles come from
``--profiles`` (a store folder, or a published store's name) or the zoo's published store. A thin
layer over :func:`vlmsel.recommend.pipeline.select` and :func:`vlmsel.recommend.report.write_report`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from vlmsel.cli import UserError, inputs
from vlmsel.cli.options import (
    add_method_options,
    bounded,
    check_folders,
    check_outputs,
    method_options,
)
from vlmsel.conductance.options import DEFAULT_INTERNAL_BATCH_SIZE
from vlmsel.recommend.options import DEFAULT_N_BOOT, DEFAULT_N_IMAGES, SELECT_METHODS, STABLE_AT


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "select",
        help="rank the models of a zoo for your own unlabeled images (table, JSON, HTML report)",
        description="Rank a zoo's models for a folder of unlabeled images: profiles your images with every model, "
        "compares them with the source datasets (DCD, or a cheaper signal) and aggregates the models' ranks on the "
        "sources, or scores each model's zero-shot confidence on your images (with --classes). Prints the ranking, "
        "how stable the top-1 choice is, the methods side by side, and why the leading model ranks first.",
    )
    p.add_argument(
        "--images",
        nargs="+",
        required=True,
        metavar="DIR|FILE",
        help="a folder of images (read recursively) or image files",
    )
    p.add_argument(
        "--zoo",
        default="openclip48",
        help="a named zoo (openclip48, lovm35, openclip121, or a registered one such as mini) or a model list file (.csv/.yaml/.txt; "
        "then give --benchmark) (default openclip48)",
    )
    p.add_argument(
        "--models", help="comma-separated '<arch> <pretrained>': rank only these models of --zoo (each must be in it)"
    )
    p.add_argument(
        "--model-config",
        action="append",
        default=[],
        metavar="PATH",
        help="register open_clip model config JSON(s) (a file or folder) for custom architectures",
    )
    p.add_argument(
        "--profiles",
        help="source profile store: a folder, or a published store's name (default: the zoo's published store)",
    )
    p.add_argument(
        "--benchmark",
        help="source ground truth: a benchmark name or a CSV (tidy model,dataset,acc1 or wide) (default: the zoo's)",
    )
    p.add_argument("--top", type=bounded(int, minimum=1), default=10, help="rows of the printed table (default 10)")
    p.add_argument("--json", dest="json_out", metavar="FILE", help="write the result as JSON")
    p.add_argument("--report", metavar="FILE", help="write a self-contained HTML report")
    p.add_argument(
        "--max-gflops",
        type=bounded(float, above=0),
        default=None,
        help="rank only models whose image tower costs at most this many GFLOPs per image",
    )
    p.add_argument(
        "--skip-bad", action="store_true", help="skip images that cannot be decoded (listed) instead of stopping"
    )
    p.add_argument(
        "--random-init",
        action="store_true",
        help="random weights (offline; only against a store built with --random-init; tests and CI)",
    )
    p.add_argument("--device", default="auto", help="auto, cpu, cuda, cuda:1, mps (default auto)")
    p.add_argument(
        "--n-images",
        type=bounded(int, minimum=2),
        default=DEFAULT_N_IMAGES,
        help=f"use at most this many images (default {DEFAULT_N_IMAGES})",
    )
    p.add_argument(
        "--n-steps", type=bounded(int, minimum=1), default=None, help="integration steps (default: the store's)"
    )
    p.add_argument(
        "--seed", type=bounded(int, minimum=0), default=0, help="which images are used when there are more (default 0)"
    )
    p.add_argument(
        "--n-boot",
        type=bounded(int, minimum=10),
        default=DEFAULT_N_BOOT,
        help=f"bootstrap resamples (default {DEFAULT_N_BOOT})",
    )
    p.add_argument(
        "--stable-at",
        type=bounded(float, above=0, maximum=1),
        default=STABLE_AT,
        help=f"top-1 probability below which the choice is called unstable (default {STABLE_AT})",
    )
    p.add_argument(
        "--internal-batch-size",
        type=bounded(int, minimum=1),
        default=DEFAULT_INTERNAL_BATCH_SIZE,
        help=f"path points per pass (memory bound; default {DEFAULT_INTERNAL_BATCH_SIZE})",
    )
    p.add_argument(
        "--work-dir",
        help="cache of your images' profiles (default: $VLMSEL_CACHE_DIR/targets, else "
        "$XDG_CACHE_HOME/vlmsel/targets, else ~/.cache/vlmsel/targets)",
    )
    p.add_argument(
        "--threads", type=bounded(int, minimum=1), default=None, help="CPU threads for torch (default: torch's choice)"
    )
    p.add_argument(
        "--method",
        choices=SELECT_METHODS,
        default=None,
        metavar="NAME",
        help="ranking method: " + ", ".join(SELECT_METHODS) + " (default: the one the project's evidence "
        "supports, see `vlmsel study`; dcd is the paper's method)",
    )
    p.add_argument(
        "--classes",
        nargs="+",
        metavar="NAME|FILE",
        help="your task's class names (comma-separated or repeated), or a text file with one per line: enables "
        "the target-only scores msp, neg_entropy, vega",
    )
    p.add_argument(
        "--templates",
        nargs="+",
        metavar="TEXT|FILE",
        help="prompt templates with {c} for the class name, or a file with one per line (default 'a photo of a {c}.')",
    )
    p.add_argument(
        "--no-compare",
        action="store_true",
        help="rank with the chosen method only (no side-by-side with the paper's DCD and the cheap signals)",
    )
    add_method_options(p)
    p.set_defaults(func=_run)


def _names(values: list[str] | None, option: str, split: bool) -> list[str] | None:
    """The names of --classes / --templates: a single existing file holds one per line (blank lines and
    lines starting with # skipped); otherwise the values, split at commas when ``split``."""
    if not values:
        return None
    if len(values) == 1 and Path(values[0]).is_file():
        path = Path(values[0])
        if path.stat().st_size > 1 << 20:
            raise UserError(f"{option} {path}: larger than 1 MiB; is it a list of names?")
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except UnicodeDecodeError:
            raise UserError(f"{option} {path}: not a UTF-8 text file") from None
        names = [line.strip() for line in lines if line.strip() and not line.strip().startswith("#")]
        if not names:
            raise UserError(f"{option} {path}: the file lists no names")
        return names
    return [v.strip() for item in values for v in (item.split(",") if split else [item]) if v.strip()]


def _run(args: argparse.Namespace) -> int:
    # lazy: selection pulls in torch and open_clip, which `vlmsel --help` does not need
    from vlmsel.data.images import ImageReadError
    from vlmsel.data.upstream import DataFileError
    from vlmsel.data.zoo import ModelLoadError, register_model_configs
    from vlmsel.files import cache_dir
    from vlmsel.recommend.pipeline import select
    from vlmsel.recommend.report import write_report

    check_outputs(args.images, **{"--json": args.json_out, "--report": args.report})
    check_folders(**{_work_dir_option(args.work_dir): args.work_dir or cache_dir("targets")})
    from vlmsel.data.zoo import resolve_device

    resolve_device(args.device)  # a bad --device fails now, not after your images are read
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    for path in args.model_config:
        register_model_configs(path)
    missing = [i for i in args.images if not Path(i).exists()]
    if missing:
        raise UserError(f"--images: {', '.join(missing[:5])} does not exist")
    images = args.images[0] if len(args.images) == 1 and Path(args.images[0]).is_dir() else args.images
    if isinstance(images, list):
        folders = [i for i in images if Path(i).is_dir()]
        if folders:
            raise UserError(f"--images takes one folder or a list of files, not both: {folders}")
    zoo = args.zoo
    models = inputs.model_names(args.models) or None
    try:
        result = select(
            images,
            zoo=zoo,
            profiles=args.profiles,
            benchmark=args.benchmark,
            models=models,
            n_images=args.n_images,
            seed=args.seed,
            n_steps=args.n_steps,
            device=args.device,
            pretrained=not args.random_init,
            max_gflops=args.max_gflops,
            skip_bad=args.skip_bad,
            n_boot=args.n_boot,
            options=method_options(args),
            internal_batch_size=args.internal_batch_size,
            work_dir=args.work_dir,
            stable_at=args.stable_at,
            method=args.method,
            classes=_names(args.classes, "--classes", split=True),
            templates=_names(args.templates, "--templates", split=False),
            compare=not args.no_compare,
        )
    except ImageReadError as err:
        raise UserError(str(err)) from err
    except (ModelLoadError, DataFileError) as err:
        raise UserError(str(err)) from err
    print(result.summary(top=args.top))
    if args.json_out:
        print(f"\nwrote {result.to_json(args.json_out)}")
    if args.report:
        print(f"wrote {write_report(result, args.report, top=max(args.top, 10))}")
    sys.stdout.flush()
    return 0


def _work_dir_option(work_dir: str | None) -> str:
    """What an error calls the folder of --work-dir: the option, or the default cache and what chose it."""
    import os

    from vlmsel.files import CACHE_DIR_ENV

    if work_dir:
        return "--work-dir"
    env = next((v for v in (CACHE_DIR_ENV, "XDG_CACHE_HOME") if os.environ.get(v)), None)
    return f"the target cache ({env})" if env else "the target cache (--work-dir's default)"
