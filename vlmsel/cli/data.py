"""``vlmsel data``: fetch, locate and inspect the ground-truth benchmark tables."""

from __future__ import annotations

import argparse

from vlmsel.data import upstream
from vlmsel.files import cache_dir

# vlmsel.data.benchmarks (pandas) is imported by the actions that read tables, not for parsing.


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "data",
        help="fetch and inspect the ground-truth benchmark tables",
        description="Fetch (download and sha256-check) and inspect the benchmark tables.",
    )
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)

    fetch = actions.add_parser("fetch", help="download every pinned upstream file into the cache")
    fetch.set_defaults(func=_fetch)

    where = actions.add_parser("where", help="say where the tables are read from")
    where.set_defaults(func=_where)

    show = actions.add_parser("show", help="print a benchmark's shape and best model per dataset")
    show.add_argument("benchmark", help="lovm, openclip48, openclip121, swab, or a registered one (mini)")
    show.add_argument("--metric", default="acc1")
    show.set_defaults(func=_show)


def _fetch(args: argparse.Namespace) -> int:
    paths = upstream.fetch_all()
    print(f"{len(paths)} files verified:")
    for rel, path in paths.items():
        print(f"  {rel} -> {path}")
    return 0


def _where(args: argparse.Namespace) -> int:
    local = upstream.data_dir()
    if local is not None:
        print(f"{upstream.DATA_DIR_ENV}={local} (local copy; each file is checked against its pinned sha256)")
    else:
        print(f"cache: {cache_dir('data')} (files missing there are downloaded from the pinned URLs)")
    for name, src in upstream.sources().items():
        print(f"  {name}: github.com/{src['repo']} @ {src['commit']}")
    folder = local if local is not None else cache_dir("data")
    missing = [rel for rel in upstream.registry() if not (folder / rel).is_file()]
    if missing:
        fix = (
            "copy them there or unset the variable"
            if local is not None
            else "`vlmsel data fetch` downloads them (or set VLMSEL_DATA_DIR to a local copy)"
        )
        print(f"missing in {folder}: {len(missing)} of {len(upstream.registry())} files ({fix}):")
        for rel in missing:
            print(f"  {rel}")
    else:
        print(f"all {len(upstream.registry())} files present in {folder}")
    return 0


def _show(args: argparse.Namespace) -> int:
    from vlmsel.data.benchmarks import load_benchmark

    bench = load_benchmark(args.benchmark, args.metric)
    print(f"{bench.name} ({bench.metric}): {bench.shape[0]} models x {bench.shape[1]} datasets")
    for note in bench.notes:
        print(f"  note: {note}")
    best = bench.wide.idxmax().rename("best model").to_frame()
    best["value"] = bench.wide.max()
    print(best.to_string(float_format=lambda v: f"{v:.4f}"))
    return 0
