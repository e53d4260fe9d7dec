"""`make bench`: speed and memory, measured against a floor in the same run.

Two parts (BENCH_ONLY=pipeline|clv runs one):

- **pipeline** (`pipelines/benchmarks/pipeline.py`): demo data sets S (5,000 people),
  M (100,000) and L (1,000,000; ~10 M order lines), cached under `data/bench/`; the whole
  Dagster job into a fresh warehouse; wall time, peak RSS of the process tree, time per
  asset step and per dbt model, rows per second; the floor (DuckDB alone reading the same
  raw files into tables) and the ratio to it; an unchanged re-run; one more day of exports
  (~1 % new rows) and its re-run against the full refresh; the targets and whether they
  are met. BENCH_SIZES=S,M picks sizes (default S,M,L); BENCH_INCREMENTAL=S,M,L where to
  add a day (default L); BENCH_KEEP=1 keeps each run's logs and databases under
  `data/bench/<size>/run/` and the dbt steps' target folders, for profiling.
- **clv** (`pipelines/benchmarks/clv.py`): BG/NBD + Gamma-Gamma on 1,000,000 customers
  (BENCH_CLV_CUSTOMERS), medians of 3, against lifetimes and PyMC-Marketing fitted on the
  same data in the same run (BENCH_BASELINES=0 skips those).

Results: `bench/results/<date>.json` and a plot of time per stage
`bench/results/<date>-stages.svg`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import sys
import tempfile
from importlib import metadata
from pathlib import Path

from pipelines.benchmarks import pipeline
from pipelines.settings import REPO_ROOT

RESULTS = REPO_ROOT / "bench" / "results"


def machine() -> dict:
    mem = next((int(line.split()[1]) // 1024 for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), None)
    versions = {p: metadata.version(p) for p in ("dagster", "dagster-dbt", "dbt-core", "dbt-duckdb",
                                                 "duckdb", "polars", "numpy", "scipy")}
    return {"cpus": os.cpu_count(), "memory_mb": mem, "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}


def main() -> int:
    only = os.environ.get("BENCH_ONLY", "")
    sizes = [s.strip() for s in os.environ.get("BENCH_SIZES", "S,M,L").split(",") if s.strip()]
    incremental = {s.strip() for s in os.environ.get("BENCH_INCREMENTAL", "L").split(",")}
    out: dict = {"date": dt.date.today().isoformat(), "machine": machine()}
    lines: list[str] = []

    if only in ("", "pipeline"):
        results = [pipeline.measure(size, size in incremental) for size in sizes]
        out["pipeline"] = results
    if only in ("", "clv"):
        from pipelines.benchmarks import clv

        with tempfile.TemporaryDirectory(prefix="kundenorbit-bench-") as tmp:
            out["clv"] = clv.run(int(os.environ.get("BENCH_CLV_CUSTOMERS", "1000000")), Path(tmp))
        lines += ["", *clv.report(out["clv"])]

    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{out['date']}.json"
    if path.exists():  # keep what an earlier run the same day measured and this one did not
        earlier = json.loads(path.read_text())
        if "pipeline" in out and earlier.get("pipeline"):
            sizes_now = {r["size"] for r in out["pipeline"]}
            kept = [r for r in earlier["pipeline"] if r["size"] not in sizes_now]
            order = list(pipeline.SIZES)
            out["pipeline"] = sorted(kept + out["pipeline"], key=lambda r: order.index(r["size"]))
        out = {**earlier, **out}
    if out.get("pipeline"):
        out["targets"] = pipeline.targets(out["pipeline"])
        # the table covers every size measured today (earlier runs the same day included)
        lines = ["", *pipeline.report(out["pipeline"]), *lines]
    path.write_text(json.dumps(out, indent=2, default=str))
    if out.get("pipeline"):
        pipeline.plot_svg(out["pipeline"], RESULTS / f"{out['date']}-stages.svg")
    print("\n".join(lines))
    print(f"\nbench: results in {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
