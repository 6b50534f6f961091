"""``vlmsel store``: pack, verify, merge, publish and fetch profile stores.

Examples::

    vlmsel store pack profiles_openclip48/                  # -> profiles_openclip48.tar.gz (+ checksums)
    vlmsel store verify profiles_openclip48.tar.gz --sha256 HEX
    vlmsel store merge gpu_a/ gpu_b/ --into profiles/        # refuses other settings, reports conflicts
    vlmsel store publish profiles_openclip48.tar.gz --url https://.../profiles_openclip48.tar.gz \\
        --zoo openclip48 --registry vlmsel/resources/profile_stores.json
    vlmsel store fetch openclip48-n25                        # download, verify, cache; print the folder

A thin layer over :mod:`vlmsel.profiles.archive` and :mod:`vlmsel.profiles.registry`.
"""

from __future__ import annotations

import argparse

from vlmsel.cli import UserError
from vlmsel.cli.options import plain_help


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "store",
        help="pack, verify, merge, publish and fetch profile stores",
        description=plain_help(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="store_command", metavar="STORE_COMMAND")

    p = sub.add_parser("pack", help="pack a store into one reproducible .tar.gz with a checksum manifest")
    p.add_argument("store", help="the store folder")
    p.add_argument("--out", help="the archive (default: STORE.tar.gz beside the folder)")
    p.add_argument("--root", help="folder name inside the archive (default: the store folder's name)")
    p.add_argument(
        "--allow-mixed",
        action="store_true",
        help="pack a store whose entries were made with different settings (select refuses such a store)",
    )
    p.set_defaults(func=_pack)

    p = sub.add_parser("verify", help="check a packed store or a store folder (every file, every entry)")
    p.add_argument("path", help="a .tar.gz made by `vlmsel store pack`, or a store folder")
    p.add_argument("--sha256", help="the archive's expected sha256 (as in a registry)")
    p.add_argument(
        "--allow-mixed",
        action="store_true",
        help="report entries made with different settings instead of failing on them",
    )
    p.set_defaults(func=_verify)

    p = sub.add_parser("upgrade", help="give a version-1 store's manifests their own checksums (store version 2)")
    p.add_argument("store", help="the store folder (changed in place; every entry is checked first)")
    p.set_defaults(func=_upgrade)

    p = sub.add_parser("merge", help="copy the entries of stores into one; refuses other settings, versions or images")
    p.add_argument("sources", nargs="+", help="store folders to merge")
    p.add_argument("--into", required=True, help="the destination store (created if missing)")
    p.add_argument(
        "--allow-other-versions",
        action="store_true",
        help="merge stores made with other vlmsel / torch / open_clip versions",
    )
    p.add_argument("--dry-run", action="store_true", help="say what would be copied; write nothing")
    p.set_defaults(func=_merge)

    p = sub.add_parser("publish", help="verify an archive and write its registry entry (url, sha256, bytes, root)")
    p.add_argument("archive", help="the .tar.gz made by `vlmsel store pack` (upload it to --url yourself)")
    p.add_argument("--url", required=True, help="where everyone downloads the archive from")
    p.add_argument(
        "--zoo", required=True, help="the zoo it profiles (openclip48, lovm35, ...): `select --zoo` finds it"
    )
    p.add_argument("--name", help="the store's registry name (default: the archive's root folder)")
    p.add_argument(
        "--registry",
        required=True,
        help="the registry file to write the entry into "
        "(vlmsel/resources/profile_stores.json in a pull request, or a file of your own for VLMSEL_PROFILE_REGISTRY)",
    )
    p.add_argument("--description", default="", help="what it holds (default: models, datasets, N, n_steps, versions)")
    p.set_defaults(func=_publish)

    p = sub.add_parser("fetch", help="download, verify and cache a published store; print its folder")
    p.add_argument("name", help="the store's registry name (see `vlmsel store list`)")
    p.set_defaults(func=_fetch)

    p = sub.add_parser("list", help="the published stores the registry lists")
    p.set_defaults(func=_list)

    parser.set_defaults(func=lambda args: (parser.print_help(), 2)[1])


def _pack(args) -> int:
    from vlmsel.profiles.archive import pack_store

    packed = pack_store(args.store, args.out, root=args.root, allow_mixed=args.allow_mixed)
    print(f"packed {packed.n_entries} entries of {args.store} into {packed.path}")
    print(f"  sha256 {packed.sha256}")
    print(f"  {packed.bytes} bytes; store folder inside the archive: {packed.root}/")
    return 0


def _verify(args) -> int:
    from vlmsel.profiles.archive import verify_store

    check = verify_store(args.path, sha256=args.sha256, allow_mixed=args.allow_mixed)
    for line in check.notes:
        print(f"note: {line}")
    if check.ok:
        what = f"{check.n_entries} entries, {check.n_files} files"
        against = " against its checksum manifest" if check.checksums else ""
        print(f"{args.path}: OK ({what} checked{against}" + (", sha256 as expected" if args.sha256 else "") + ")")
        return 0
    print(f"{args.path}: {len(check.problems)} problem(s)")
    for line in check.problems[:20]:
        print(f"  {line}")
    if len(check.problems) > 20:
        print(f"  ... and {len(check.problems) - 20} more")
    return 1


def _upgrade(args) -> int:
    from vlmsel.profiles.store import upgrade_store

    n = upgrade_store(args.store)
    print(f"{args.store}: {n} manifest(s) given their checksum; the store is version 2")
    return 0


def _merge(args) -> int:
    from vlmsel.profiles.archive import merge_stores

    report = merge_stores(args.sources, args.into, allow_other_versions=args.allow_other_versions, dry_run=args.dry_run)
    verb = "would copy" if args.dry_run else "copied"
    print(
        f"{args.into}: {verb} {len(report.copied)} entries from {len(args.sources)} store(s); "
        f"{len(report.same)} held twice with identical arrays (kept once)"
    )
    return 0


def _publish(args) -> int:
    from vlmsel.profiles.registry import publish_entry

    name = args.name
    if not name:
        from vlmsel.profiles.archive import verify_store

        name = verify_store(args.archive).root
        if not name:
            raise UserError(f"{args.archive}: not packed by `vlmsel store pack`; pack the store first")
    entry = publish_entry(args.registry, name, args.archive, args.url, args.zoo, args.description)
    print(f"{args.registry}: store {entry.name!r} for zoo {entry.zoo!r}: {entry.url}")
    print(f"  sha256 {entry.sha256}, {entry.bytes} bytes, root {entry.root}/")
    print(f"  {entry.description}")
    return 0


def _fetch(args) -> int:
    from vlmsel.profiles.registry import fetch_store

    folder = fetch_store(args.name)
    from vlmsel.profiles.store import ProfileStore

    ps = ProfileStore(folder)
    print(f"{folder}: {len(ps.models)} models x {len(ps.datasets)} datasets")
    return 0


def _list(args) -> int:
    from vlmsel.profiles.registry import registry

    for name, e in registry().items():
        where = e.path or e.url
        print(f"{name:24s} zoo {e.zoo:12s} {where}")
        if e.description:
            print(f"{'':24s} {e.description}")
    return 0
