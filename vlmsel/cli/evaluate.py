"""``vlmsel evaluate``: leave-one-dataset-out evaluation of selection methods on a benchmark.

Examples::

    vlmsel evaluate --benchmark lovm --method inb
    vlmsel evaluate --benchmark lovm --metric mean_per_class_recall --method baselines --out results/
    vlmsel evaluate --benchmark openclip48 --method dcd,dcd_nested --profiles profiles/ --exclude-targets imagenet1k

Prints, for every method, a per-target table and the means with bootstrap intervals, and for DCD
with fixed hyperparameters its permutation null (each model's divergences shuffled over the sources,
:mod:`vlmsel.evaluation.null`); with several methods also a comparison table and DCD's paired
differences against average rank and INB. The benchmark's reference dataset (INB's) is not a target
unless ``--include-reference``. ``--out DIR`` writes CSV and JSON files (see
:meth:`vlmsel.evaluation.harness.EvaluationResult.save`). A thin layer over :func:`vlmsel.evaluation.harness.evaluate`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from vlmsel.cli import UserError, inputs
from vlmsel.cli.options import add_method_options, bounded, check_folders, method_options
from vlmsel.evaluation.options import (
    BASELINES,
    FIXED_ZSCORE_GAMMA,
    K_DEFAULT,
    METHODS,
    SIGNAL_METHODS,
    STORE_METHODS,
    TARGET_ONLY_METHODS,
    ZSCORE_METHODS,
)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "evaluate",
        help="leave-one-dataset-out evaluation of selection methods on a benchmark",
        description="Leave-one-dataset-out evaluation: every dataset is the target once, the others are sources. "
        "Prints per-target metrics (R5, tau5 as LOVM; NDCG@5 with gain = accuracy and min-max accuracy; "
        "Kendall tau-b; top-1 regret) and their means with seeded bootstrap intervals over targets.",
    )
    p.add_argument("--benchmark", required=True, help="lovm, openclip48, openclip121, swab, or a registered one (mini)")
    p.add_argument("--metric", default="acc1", help="ground-truth metric (lovm: acc1 or mean_per_class_recall)")
    p.add_argument(
        "--method",
        action="append",
        required=True,
        metavar="NAME",
        help=f"method(s), repeat or comma-separate: {', '.join(METHODS)}; 'baselines' = {', '.join(BASELINES)}",
    )
    p.add_argument(
        "--profiles",
        help="profile store: a folder or a published store's name (needed by the dcd methods; default: "
        "the published store of the benchmark's zoo, if any, e.g. mini)",
    )
    p.add_argument(
        "--restrict-to-profiles",
        action="store_true",
        help="evaluate only the benchmark's models and datasets that the profile store covers "
        "(a partial store, e.g. a few models profiled on a few datasets)",
    )
    add_method_options(p, ("scalar", "pooling", "source_images", "eta", "importance", "gamma", "utility"))
    p.add_argument("--selection-metric", default="ndcg5", help="criterion of nested selection: ndcg5, r5+tau5, tau_b")
    p.add_argument(
        "--random-draws",
        type=bounded(int, minimum=1),
        default=None,
        help="random: average this many seeded draws instead of the exact expectation",
    )
    p.add_argument(
        "--inb-on-imagenet",
        choices=("own_column", "error"),
        default="own_column",
        help="INB on the imagenet1k target: rank it by its own column as LOVM does (flagged), or refuse",
    )
    p.add_argument("--targets", help="comma-separated targets (default: every dataset)")
    p.add_argument("--exclude-targets", default="", help="comma-separated datasets not to predict (they stay sources)")
    p.add_argument(
        "--include-reference",
        action="store_true",
        help="also predict the benchmark's broad reference dataset (imagenet1k, mini's broad), as LOVM's "
        "protocol does; by default it is not a target, because INB ranks it by its own ground truth",
    )
    p.add_argument(
        "--null",
        type=bounded(int, minimum=0),
        default=1000,
        metavar="N",
        help="permutation null of each fixed-hyperparameter dcd method: N shuffles of each model's "
        "divergences over the sources (default 1000; 0 = off)",
    )
    p.add_argument(
        "--k",
        type=bounded(int, minimum=1),
        default=K_DEFAULT,
        help=f"cutoff of R@k, tau@k, NDCG@k (default {K_DEFAULT}, as LOVM)",
    )
    p.add_argument(
        "--n-boot", type=bounded(int, minimum=10), default=10_000, help="bootstrap resamples (default 10000)"
    )
    p.add_argument(
        "--level", type=bounded(float, above=0, below=1), default=0.95, help="interval coverage (default 0.95)"
    )
    p.add_argument("--seed", type=bounded(int, minimum=0), default=0, help="bootstrap seed (default 0)")
    p.add_argument("--no-per-target", action="store_true", help="print only the means")
    p.add_argument("--out", type=Path, help="folder for CSV and JSON results")
    p.set_defaults(func=run)


def _split(values: list[str] | str | None) -> list[str]:
    if not values:
        return []
    items = values if isinstance(values, list) else [values]
    return [v.strip() for item in items for v in item.split(",") if v.strip()]


def _method_names(requested: list[str], benchmark: str = "lovm") -> list[str]:
    """The methods to run; ``baselines`` expands to every baseline that ``benchmark`` supports
    (modelGPT's text features exist only for LOVM's models and datasets)."""
    supported = [b for b in BASELINES if benchmark == "lovm" or not b.startswith("modelgpt")]
    if len(supported) < len(BASELINES) and "baselines" in _split(requested):
        print(f"note: the modelgpt_lite baselines need LOVM's text features; skipped on {benchmark!r}")
    names: list[str] = []
    for name in _split(requested):
        for n in supported if name == "baselines" else [name]:
            if n not in METHODS:
                raise UserError(f"unknown method {n!r}; choose from {', '.join(METHODS)} or 'baselines'")
            if n not in names:
                names.append(n)
    return names


def _options(name: str, args: argparse.Namespace) -> dict[str, Any]:
    if name == "inb":
        return {"on_reference_target": args.inb_on_imagenet}
    if name in ("avg_rank", "oracle_sim"):
        return {"utility": method_options(args).utility}
    if name == "random":
        return {"n_draws": args.random_draws, "seed": args.seed}
    if name.startswith("modelgpt_lite"):
        return {"selection_metric": args.selection_metric, "k": args.k}
    if name in TARGET_ONLY_METHODS:
        return {"source_images": method_options(args).source_images}
    options = method_options(args)
    if name.removesuffix("_nested") in (*ZSCORE_METHODS, *SIGNAL_METHODS):  # the scale-free softmin
        options = options.replace(softmin="zscore", gamma=FIXED_ZSCORE_GAMMA if args.gamma is None else args.gamma)
    return {"options": options, "selection_metric": args.selection_metric, "k": args.k}


def run(args: argparse.Namespace) -> int:
    # lazy: these pull in scipy and pandas, which `vlmsel --help` does not need
    from vlmsel.data.benchmarks import load_benchmark
    from vlmsel.evaluation.dcd import DcdMethod
    from vlmsel.evaluation.harness import compare, evaluate
    from vlmsel.evaluation.methods import make_method
    from vlmsel.evaluation.null import paired_differences, permutation_null
    from vlmsel.files import atomic_write

    check_folders(**{"--out": args.out})
    names = _method_names(args.method, args.benchmark)
    benchmark = load_benchmark(args.benchmark, args.metric)
    store = None
    if any(n in STORE_METHODS for n in names):
        store = inputs.benchmark_store(args.profiles, args.benchmark, "every method but the baselines")
    if args.restrict_to_profiles:
        if store is None:
            if args.profiles is None:
                raise UserError("--restrict-to-profiles needs --profiles PATH")
            store = inputs.benchmark_store(args.profiles, args.benchmark, "every method but the baselines")
        benchmark = benchmark.covered_by(store)
        print(f"restricted to the profile store: {len(benchmark.models)} models x {len(benchmark.datasets)} datasets")
    targets = _split(args.targets) or None
    exclude = _split(args.exclude_targets)
    reference = benchmark.reference_dataset
    if not args.include_reference and reference in benchmark.datasets and reference not in exclude:
        exclude.append(reference)
        n_left = len([d for d in (targets or benchmark.datasets) if d not in exclude])
        print(
            f"note: {reference!r}, the reference dataset INB ranks by, is not a target ({n_left} targets remain; "
            "--include-reference predicts it too, as LOVM's protocol does)"
        )
    if "inb" in names and benchmark.reference_dataset not in benchmark.datasets:
        names = [n for n in names if n != "inb"]
        print(
            f"note: inb skipped: it ranks by {benchmark.reference_dataset!r}, which is not among the evaluated "
            "datasets (with --restrict-to-profiles, profile that dataset too)"
        )
    results, nulls = [], {}
    for name in names:
        method = make_method(name, profiles=store, **_options(name, args))
        result = evaluate(
            benchmark,
            method,
            targets=targets,
            exclude_targets=exclude,
            k=args.k,
            n_boot=args.n_boot,
            level=args.level,
            seed=args.seed,
        )
        results.append(result)
        print(result.format(per_target=not args.no_per_target))
        print()
        if args.null and isinstance(method, DcdMethod) and not method.nested:
            null = permutation_null(
                benchmark,
                method,
                n_shuffles=args.null,
                seed=args.seed,
                targets=targets,
                exclude_targets=exclude,
                k=args.k,
            )
            nulls[name] = null
            print(null.format())
            print()
        if args.out:
            for path in result.save(args.out).values():
                print(f"wrote {path}")
            if name in nulls:
                path = Path(args.out) / f"{result.benchmark}_{result.metric.split(' ')[0]}_{name}_null.csv"
                with atomic_write(path, "w") as fh:
                    nulls[name].summary().to_csv(fh)
                print(f"wrote {path}")
            print()
    if len(results) > 1:
        table = compare(results)
        print(
            f"means over targets with {int(round(args.level * 100))}% bootstrap intervals "
            f"({benchmark.name}, {benchmark.metric}; ndcg{args.k}: gain = accuracy, "
            f"ndcg{args.k}_minmax: gain = min-max normalised accuracy)"
        )
        print(table.to_string())
        by_name = {r.method: r for r in results}
        for r in results:
            if r.method in BASELINES or r.method == "random":
                continue
            for other in ("avg_rank", "inb"):
                if other in by_name:
                    diff = paired_differences(r, by_name[other], n_boot=args.n_boot, level=args.level, seed=args.seed)
                    print()
                    print(
                        f"{r.method} minus {other}, target by target ({int(diff['n_targets'].max())} targets; "
                        f"mean and {int(round(args.level * 100))}% bootstrap interval; wins = targets where "
                        f"one is strictly better)"
                    )
                    print(diff.to_string(float_format=lambda v: f"{v:+.3f}"))
        if args.out:
            stem = f"{benchmark.name}_{benchmark.metric.split(' ')[0]}_comparison"
            with atomic_write(Path(args.out) / f"{stem}.csv", "w") as fh:
                table.to_csv(fh)
            with atomic_write(Path(args.out) / f"{stem}.json", "w") as fh:
                json.dump({r.method: r.to_dict()["summary"] for r in results}, fh, indent=1)
                fh.write("\n")
            print(f"wrote {Path(args.out) / stem}.csv and .json")
    return 0
