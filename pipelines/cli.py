"""`kundenorbit` command line: demo data, up-to-date check, summary, docs, erasure."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pipelines.errors import KundenOrbitError
from pipelines.settings import load_settings


def _demo(args: argparse.Namespace) -> int:
    from pipelines.demo.generate import DemoParams, generate

    settings = load_settings()
    raw = Path(args.out) if args.out else settings.raw_dir
    truth = Path(args.truth) if args.truth else settings.home / "data" / "demo_truth"
    if args.if_empty:
        from pipelines.ingest.loader import discover

        found = [p for s in ("shop", "crm", "newsletter") for p in discover(raw / s)]
        if found:
            print(f"demo: {raw} already holds {len(found)} export files; not generating")
            return 0
    counts = generate(raw, truth, DemoParams(people=args.people, seed=args.seed, alpha=args.alpha),
                      progress=not args.quiet)
    print("demo: wrote " + ", ".join(f"{v:,} {k}" for k, v in counts.items()))
    print(f"demo: exports in {raw}, truth in {truth}")
    return 0


def _up_to_date(args: argparse.Namespace) -> int:
    from pipelines.uptodate import check

    fresh, why = check(load_settings())
    print(f"kundenorbit: {why}" if fresh else f"kundenorbit: rebuilding — {why}")
    return 0 if fresh else 1


def _summary(args: argparse.Namespace) -> int:
    from pipelines.summary import print_summary

    print_summary(load_settings())
    return 0


def _docs(args: argparse.Namespace) -> int:
    from pipelines.docs import build_docs

    print(f"docs: {build_docs(load_settings(), force=True)}")
    return 0


def _erase(args: argparse.Namespace) -> int:
    from pipelines.erasure import erase

    addresses = list(args.address)
    if args.file:
        lines = Path(args.file).read_text(encoding="utf-8-sig").splitlines()
        addresses += [x.strip() for x in lines if x.strip() and not x.startswith("#")]
    if not addresses:
        print("error: name at least one e-mail address (or --file)", file=sys.stderr)
        return 2
    settings = load_settings()
    result = erase(settings, addresses)
    print(f"erase: {result.addresses} address(es); {result.new_in_register} new in the "
          f"register {settings.erasure_register} (salted hashes, no addresses)")
    if result.records_dropped:
        for name, n in sorted(result.records_dropped.items()):
            print(f"erase: {name}: {n} record(s) removed")
    else:
        print(f"erase: no export file in {settings.raw_dir} names them")
    for path in result.deleted:
        print(f"erase: deleted {path}")
    print("erase: the next run (make run) rebuilds the warehouse from the cleaned exports; "
          "files added later are filtered by the register")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kundenorbit", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="generate demo exports in the real tools' formats")
    demo.add_argument("--people", type=int, default=5000)
    demo.add_argument("--seed", type=int, default=42)
    demo.add_argument("--alpha", type=float, default=120.0,
                      help="BG/NBD scale of the purchase rate in days (smaller = more orders)")
    demo.add_argument("--out", help="raw folder (default: KUNDENORBIT_RAW_DIR or data/raw)")
    demo.add_argument("--truth", help="where the simulation truth goes (data/demo_truth)")
    demo.add_argument("--if-empty", action="store_true",
                      help="only if the raw folder holds no exports yet")
    demo.add_argument("--quiet", action="store_true")
    demo.set_defaults(func=_demo)
    sub.add_parser("up-to-date", help="exit 0 if the published warehouse was built from the "
                   "current exports, code and settings (nothing to do)").set_defaults(func=_up_to_date)
    sub.add_parser("summary", help="headline numbers of the published warehouse").set_defaults(
        func=_summary)
    sub.add_parser("docs", help="build the static dbt docs site").set_defaults(func=_docs)
    erase = sub.add_parser("erase", help="erasure request: remove people (by e-mail address) "
                           "from the exports, the register filters them from then on; "
                           "deletes the warehouse for a rebuild (README §Erasure)")
    erase.add_argument("address", nargs="*", help="e-mail address(es) of the people to erase")
    erase.add_argument("--file", help="a text file with one address per line")
    erase.set_defaults(func=_erase)
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KundenOrbitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
