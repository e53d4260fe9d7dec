"""`make bench`: speed and memory of the heavy steps, as medians over repeats and as
ratios against a baseline measured in the same run on the same machine.

Every measurement runs in a fresh subprocess, which reports its wall time and peak RSS.

| step               | ours                                    | baseline (same file)                 |
|--------------------|-----------------------------------------|--------------------------------------|
| ingest shop export | loader: dialect, typing, rejects, ledger | DuckDB read_csv, all text, no checks |
| re-ingest          | same file again (ledger skip)            | first ingest                         |
| demo generation    | `kundenorbit demo --people N`            | —                                    |
| build              | ingest all sources + `dbt build`         | —                                    |
| CLV models         | BG/NBD + Gamma-Gamma on 1 M customers    | lifetimes, PyMC-Marketing (MAP)      |

Usage: python -m pipelines.bench [--people 20000,100000] [--repeats 3]
Environment: BENCH_PEOPLE overrides --people (e.g. 1000000 for the full-scale check);
BENCH_CLV_CUSTOMERS (default 1000000) sizes the CLV part, BENCH_ONLY=clv|pipeline runs one
part, BENCH_BASELINES=0 skips the lifetimes / PyMC-Marketing baselines.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.settings import REPO_ROOT


def _worker(task: str, workdir: Path, people: int) -> dict:
    import datetime as dt

    import duckdb

    raw = workdir / "raw"
    start = time.perf_counter()
    if task == "demo":
        from pipelines.demo.generate import DemoParams, generate

        generate(raw, workdir / "truth", DemoParams(people=people, seed=1), progress=False)
    elif task in ("ingest", "reingest"):
        from pipelines.ingest.loader import load_source

        db = workdir / "ingest.duckdb"
        if task == "ingest":
            db.unlink(missing_ok=True)
            start = time.perf_counter()
        con = duckdb.connect(str(db))
        load_source(con, raw, "shop", dt.datetime.now())
        con.close()
    elif task == "baseline":
        con = duckdb.connect()
        con.execute(
            f"create table t as select * from read_csv('{raw / 'shop' / 'orders_export_1.csv'}',"
            " all_varchar = true)")
        con.close()
    elif task == "build":
        from pipelines.ingest.loader import load_source

        db = workdir / "build.duckdb"
        db.unlink(missing_ok=True)
        start = time.perf_counter()
        con = duckdb.connect(str(db))
        for source in ("shop", "crm", "newsletter"):
            load_source(con, raw, source, dt.datetime.now())
        con.close()
        env = {**os.environ, "KUNDENORBIT_BUILD_DB": str(db), "KUNDENORBIT_ID_SALT": "bench",
               "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false"}
        from pipelines.dbt import build_outside_dagster

        build_outside_dagster(db, env, quiet=bool(os.environ.get("BENCH_QUIET")))
    else:
        raise ValueError(task)
    seconds = time.perf_counter() - start
    rss = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
              resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    return {"seconds": seconds, "peak_rss_mb": rss}


def _measure(task: str, workdir: Path, people: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "pipelines.bench", "--worker", task, "--workdir", str(workdir),
         "--people", str(people)],
        check=False, capture_output=True, text=True,
    )
    if out.returncode != 0:
        tail = "\n".join((out.stdout + out.stderr).splitlines()[-25:])
        raise SystemExit(f"bench: step {task} failed for {people:,} people:\n{tail}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _median(task: str, workdir: Path, people: int, repeats: int) -> dict:
    runs = [_measure(task, workdir, people) for _ in range(repeats)]
    return {
        "median_s": statistics.median(r["seconds"] for r in runs),
        "runs_s": [round(r["seconds"], 3) for r in runs],
        "peak_rss_mb": max(r["peak_rss_mb"] for r in runs),
    }


def _print_pipeline_table(results: list[dict]) -> None:
    print()
    print("| people | shop rows | demo s | ingest s (median) | read_csv baseline s "
          "| ingest ÷ baseline | re-ingest s | re-ingest ÷ ingest | ingest rows/s "
          "| ingest + dbt build s | peak RSS MB (ingest / build) |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        i, b, ri = r["ingest"]["median_s"], r["baseline_read_csv"]["median_s"], r["reingest"]["median_s"]
        print(f"| {r['people']:,} | {r['shop_rows']:,} | {r['demo']['median_s']:.1f} | {i:.2f} "
              f"| {b:.2f} | {i / b:.1f}× | {ri:.2f} | {ri / i:.2f}× | {r['shop_rows'] / i:,.0f} "
              f"| {r['build']['median_s']:.1f} | {r['ingest']['peak_rss_mb']:.0f} / "
              f"{r['build']['peak_rss_mb']:.0f} |")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", default=os.environ.get("BENCH_PEOPLE", "20000,100000"))
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--worker")
    parser.add_argument("--workdir")
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(_worker(args.worker, Path(args.workdir), int(args.people))))
        return 0

    sizes = [int(x) for x in str(args.people).split(",")]
    only = os.environ.get("BENCH_ONLY", "")
    results = []
    clv_result = None
    root = Path(tempfile.mkdtemp(prefix="kundenorbit-bench-"))
    try:
        if only in ("", "clv"):
            from pipelines.benchmarks import clv as clv_bench

            clv_result = clv_bench.run(int(os.environ.get("BENCH_CLV_CUSTOMERS", "1000000")), root,
                                       args.repeats)
            print("\n" + "\n".join(clv_bench.report(clv_result)) + "\n", flush=True)
        for n in sizes if only in ("", "pipeline") else []:
            work = root / str(n)
            work.mkdir()
            print(f"bench: {n:,} people …", flush=True)
            demo = _median("demo", work, n, 1)
            rows = sum(1 for _ in (work / "raw/shop/orders_export_1.csv").open("rb")) - 1
            ingest = _median("ingest", work, n, args.repeats)
            baseline = _median("baseline", work, n, args.repeats)
            reingest = _median("reingest", work, n, args.repeats)
            build = _median("build", work, n, 1)
            results.append({"people": n, "shop_rows": rows, "demo": demo, "ingest": ingest,
                            "baseline_read_csv": baseline, "reingest": reingest,
                            "build": build})
            shutil.rmtree(work)
    finally:
        shutil.rmtree(root, ignore_errors=True)

    if results:
        _print_pipeline_table(results)
    out = REPO_ROOT / "data" / "warehouse" / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"pipeline": results, "clv": clv_result}, indent=2))
    if clv_result:
        from pipelines.benchmarks import clv as clv_bench

        print("\n" + "\n".join(clv_bench.report(clv_result)))
    print(f"\nbench: raw numbers in {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
