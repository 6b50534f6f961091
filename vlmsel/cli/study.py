"""``vlmsel study``: the pre-registered comparison "What should a practitioner use?" on a benchmark.

Example::

    vlmsel study --benchmark mini --out vlmsel/resources/evidence/mini

Runs :func:`vlmsel.evaluation.study.run_study`, the plan ``data/plans/what_to_use.md`` (fixed before any of
its methods was evaluated): every method with intervals, the permutation nulls of the source-weighted ones,
the paired differences against average rank, INB and the paper's DCD, the cost of each, and the decision of
the plan's section 7. Prints the table and the decision; writes every table to ``--out``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from vlmsel.cli import UserError, inputs
from vlmsel.cli.options import bounded, check_folders


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "study",
        help="the pre-registered comparison of DCD with the cheaper label-free signals (what to use)",
        description="Every method of data/plans/what_to_use.md on the leave-one-dataset-out harness, with "
        "nulls, paired differences, costs and the decision that sets `vlmsel select`'s default.",
    )
    p.add_argument("--benchmark", required=True, help="a benchmark whose zoo has a profile store (mini)")
    p.add_argument("--profiles", help="profile store (default: the published store of the benchmark's zoo)")
    p.add_argument("--out", type=Path, required=True, help="folder for the tables (CSV) and the decision (JSON)")
    p.add_argument("--n-boot", type=bounded(int, minimum=100), default=10_000, help="bootstrap resamples (10000)")
    p.add_argument("--seed", type=bounded(int, minimum=0), default=0, help="seed of every resample (0)")
    p.add_argument("--null", type=bounded(int, minimum=0), default=1000, help="shuffles, fixed methods (1000)")
    p.add_argument(
        "--null-nested", type=bounded(int, minimum=0), default=100, help="relabelling shuffles, nested methods (100)"
    )
    p.add_argument("--methods", help="comma-separated subset of the registered methods (default: all)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from vlmsel.data.benchmarks import load_benchmark
    from vlmsel.evaluation.study import REGISTERED, run_study

    check_folders(**{"--out": args.out})
    methods = [m.strip() for m in args.methods.split(",") if m.strip()] if args.methods else list(REGISTERED)
    unknown = [m for m in methods if m not in REGISTERED]
    if unknown:
        raise UserError(f"unknown method(s) {unknown}; the registered methods are {', '.join(REGISTERED)}")
    if "dcd" not in methods:
        raise UserError("the study compares every method with dcd (the paper's method): keep it in --methods")
    benchmark = load_benchmark(args.benchmark)
    store = inputs.benchmark_store(args.profiles, args.benchmark, "the study")
    t0 = time.perf_counter()
    study = run_study(
        benchmark,
        store,
        methods=methods,
        n_boot=args.n_boot,
        seed=args.seed,
        null=args.null,
        null_nested=args.null_nested,
    )
    print(study.table().to_string())
    print()
    print(json.dumps({k: v for k, v in study.decision.items() if k != "candidates"}, indent=1))
    for path in study.save(args.out):
        print(f"wrote {path}")
    print(f"study took {time.perf_counter() - t0:.0f} s")
    return 0
