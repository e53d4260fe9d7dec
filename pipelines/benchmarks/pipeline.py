"""Pipeline part of `make bench`: the whole Dagster job on demo data sets S / M / L, against
the floor (DuckDB alone reading the same raw files), with an unchanged re-run and an
incremental re-run after one more day of exports.

Data sets are generated once and cached under `data/bench/<size>/source/` (demo generator,
seed 1); every measurement runs the real job (`dagster job execute … kundenorbit_job`) in a
fresh warehouse under `data/bench/<size>/run/`. Peak RSS is the largest sum of resident
memory over the whole process tree (Dagster, its step processes, dbt), sampled from /proc
every 0.2 s. Time per asset comes from Dagster's STEP_SUCCESS events, time per dbt model
from dbt's run_results.json of the run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

from pipelines.settings import REPO_ROOT

SIZES = {"S": 5_000, "M": 100_000, "L": 1_000_000}
BENCH_DIR = REPO_ROOT / "data" / "bench"
BIN = Path(sys.executable).parent
FLOOR_RUNS = 3  # the floor is short and noisy (page cache, disk): its median of three
TARGETS = {"full_refresh_s_L": 600, "peak_rss_mb_L": 8192, "floor_ratio_L": 3.0,
           "incremental_share_L": 0.10, "unchanged_rerun_s_S": 20}


# ----------------------------------------------------------------------------- process tree RSS


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            # pid (comm) state ppid …; comm may contain spaces/parentheses
            ppid = int(stat[stat.rindex(")") + 2:].split()[1])
            if ppid == pid:
                out.append(int(entry.name))
    return out


def _tree_rss_mb(root: int) -> float:
    total, stack, seen = 0, [root], set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
                    break
        except OSError:
            continue
        stack.extend(_children(pid))
    return total / 1024


class TreeSampler:
    """Peak of the summed RSS of a process and all its descendants."""

    def __init__(self, pid: int, every: float = 0.2):
        self.pid, self.every, self.peak_mb = pid, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.peak_mb = max(self.peak_mb, _tree_rss_mb(self.pid))
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def run_measured(cmd: list[str], env: dict, log: Path, cwd: Path = REPO_ROOT) -> dict:
    start = time.perf_counter()
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        with TreeSampler(proc.pid) as sampler:
            rc = proc.wait()
    seconds = time.perf_counter() - start
    if rc:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise SystemExit(f"bench: {' '.join(cmd[:3])} … failed (exit {rc}); log {log}:\n{tail}")
    return {"seconds": round(seconds, 2), "peak_rss_mb": round(sampler.peak_mb)}


# ----------------------------------------------------------------------------- data sets


def dataset(size: str) -> Path:
    """data/bench/<size>/source/raw, generated once (cached with its parameters)."""
    people = SIZES[size]
    home = BENCH_DIR / size / "source"
    stamp = home / "generated.json"
    # α = 22 days (the demo's default is 120): ~10 order lines per person, so L has the
    # ~10 M Shopify line items and ~6 M newsletter events the scale target is about
    wanted = {"people": people, "seed": 1, "alpha": 22.0}
    if stamp.exists():
        cached = json.loads(stamp.read_text())
        # the runs hard-link these files: a file changed through a link (size or mtime
        # differs from the record) means the cache is no longer the generated data
        if cached.get("params") == wanted and cached.get("files") == _file_stamps(home / "raw"):
            return home / "raw"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    print(f"bench: generating data set {size} ({people:,} people) …", flush=True)
    subprocess.run([str(BIN / "kundenorbit"), "demo", "--people", str(people), "--seed", "1",
                    "--alpha", str(wanted["alpha"]), "--out", str(home / "raw"),
                    "--truth", str(home / "truth"), "--quiet"],
                   check=True, cwd=REPO_ROOT)
    stamp.write_text(json.dumps({"params": wanted, "files": _file_stamps(home / "raw")}))
    return home / "raw"


def _file_stamps(raw: Path) -> dict[str, list[int]]:
    return {p.relative_to(raw).as_posix(): [p.stat().st_size, p.stat().st_mtime_ns]
            for p in sorted(raw.rglob("*")) if p.is_file()}


def raw_stats(raw: Path) -> dict:
    files = sorted(p for p in raw.rglob("*") if p.is_file())
    rows = {}
    for p in files:
        if p.suffix == ".zip":
            with zipfile.ZipFile(p) as z:
                n = sum(sum(1 for _ in z.open(m)) - 1 for m in z.namelist() if m.endswith(".csv"))
        else:
            with p.open("rb") as f:
                n = sum(1 for _ in f) - 1
        rows[str(p.relative_to(raw))] = n
    return {"files": len(files), "bytes": sum(p.stat().st_size for p in files), "rows": rows,
            "total_rows": sum(rows.values())}


def orders_placed_again(lines, day: dt.date, id_suffix: str):
    """Shopify order lines (a polars frame of text) as new orders placed on `day`: order
    numbers + 10,000,000, `id_suffix` appended to the order ids, `Created at` / `Paid at`
    moved to `day` at the same time of day."""
    import polars as pl

    number = pl.col("Name").str.replace("#", "").cast(pl.Int64) + 10_000_000
    return lines.with_columns(
        ("#" + number.cast(pl.String)).alias("Name"),
        pl.when(pl.col("Id").is_not_null()).then(pl.col("Id") + id_suffix).otherwise(None)
        .alias("Id"),
        *[pl.when(pl.col(c).is_not_null())
          .then(pl.lit(day.isoformat()) + pl.col(c).str.slice(10))
          .otherwise(None).alias(c)
          for c in ("Created at", "Paid at") if c in lines.columns],
    )


def add_one_day(raw: Path, share: float = 0.01) -> dict:
    """One more day of exports: ~1 % of the shop orders placed again the day after the last
    order (new order numbers and ids), as orders_export_2.csv; ~1 % of the newsletter
    activity as a new campaign the same day. Other exports unchanged."""
    import polars as pl

    shop = raw / "shop" / "orders_export_1.csv"
    lines = pl.read_csv(shop, infer_schema_length=0)
    names = lines["Name"].unique(maintain_order=True)
    pick = names.gather_every(int(1 / share))
    sample = lines.filter(pl.col("Name").is_in(pick.implode()))
    created = pl.col("Created at").str.slice(0, 10).str.to_date("%Y-%m-%d", strict=False)
    last_day = lines.select(created.max()).item()
    next_day = last_day + dt.timedelta(days=1)
    sample = orders_placed_again(sample, next_day, id_suffix="9")
    out_shop = raw / "shop" / "orders_export_2.csv"
    if out_shop.exists():
        raise SystemExit(f"bench: {out_shop} exists already")
    sample.write_csv(out_shop)

    activity_files = sorted((raw / "newsletter").glob("campaign_activity*.csv"))
    new_activity = 0
    if activity_files:
        act = pl.read_csv(max(activity_files, key=lambda p: p.stat().st_size),
                          infer_schema_length=0)
        extra = act.gather_every(int(1 / share)).with_columns(
            pl.lit("c_next_day").alias("Campaign ID"),
            pl.lit(f"Newsletter {next_day:%d.%m.%Y}").alias("Campaign Title"),
            (pl.lit(next_day.isoformat()) + pl.col("Timestamp").str.slice(10)).alias("Timestamp"),
        )
        out_activity = raw / "newsletter" / f"campaign_activity_day_{next_day.isoformat()}.csv"
        if out_activity.exists():  # never replace an export: the day is *added*
            raise SystemExit(f"bench: {out_activity} exists already")
        extra.write_csv(out_activity)
        new_activity = extra.height
    return {"new_order_lines": sample.height, "new_orders": pick.len(),
            "new_activity_rows": new_activity, "day": next_day.isoformat()}


def link_tree(src: Path, dest: Path) -> None:
    """A copy of the cached raw files for one run (hard links: no bytes copied)."""
    shutil.rmtree(dest, ignore_errors=True)
    for p in src.rglob("*"):
        target = dest / p.relative_to(src)
        if p.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(p, target)
            except OSError:
                shutil.copy2(p, target)


# ----------------------------------------------------------------------------- floor


def floor_worker(raw: Path, db: Path) -> None:
    """DuckDB alone: every raw file into a table as text, nothing else (ZIP members are
    extracted and Windows-1252 files transcoded first: DuckDB needs both done for it)."""
    import duckdb

    db.unlink(missing_ok=True)
    tmp = db.parent / "floor_unzipped"
    shutil.rmtree(tmp, ignore_errors=True)
    con = duckdb.connect(str(db))
    paths = []
    for p in sorted(raw.rglob("*")):
        if p.suffix == ".zip":
            with zipfile.ZipFile(p) as z:
                z.extractall(tmp / p.stem)
            paths += sorted((tmp / p.stem).rglob("*.csv"))
        elif p.suffix == ".csv":
            paths.append(p)
    tmp.mkdir(parents=True, exist_ok=True)
    for i, p in enumerate(paths):
        try:
            p.read_bytes().decode("utf-8")
        except UnicodeDecodeError:  # German Excel: Windows-1252, which DuckDB cannot read
            utf8 = tmp / f"{i}.csv"
            utf8.write_text(p.read_bytes().decode("cp1252"), encoding="utf-8")
            p = utf8
        con.execute(f"create table t{i} as select * from read_csv(?, all_varchar = true, "
                    "strict_mode = false, null_padding = true)", [str(p)])
    con.close()
    shutil.rmtree(tmp, ignore_errors=True)


# ----------------------------------------------------------------------------- the job

def _duration(text: str) -> float:
    total = 0.0
    for value, unit in re.findall(r"([\d.]+)\s*(ms|s|m|h)", text):
        total += float(value) * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]
    return total


def _step_times(log: Path) -> dict[str, float]:
    steps: dict[str, float] = {}
    for line in log.read_text(errors="replace").splitlines():
        m = re.search(r'STEP_SUCCESS - Finished execution of step "([^"]+)" in (.+)\.$', line)
        if m:
            steps[m.group(1)] = round(_duration(m.group(2)), 2)
    return steps


def _run_id(log: Path) -> str | None:
    m = re.search(r"kundenorbit_job - ([0-9a-f]{8}-[0-9a-f-]{27})", log.read_text(errors="replace"))
    return m.group(1) if m else None


def _dbt_times(run_id: str | None) -> tuple[dict[str, float], dict]:
    """Time per dbt model (and seed), and the dbt tests in sum, from run_results.json."""
    if not run_id:
        return {}, {}
    times: dict[str, float] = {}
    tests: dict[str, float] = {}
    target = REPO_ROOT / "dbt_project" / "target"
    for results in target.glob(f"*-{run_id[:7]}-*/run_results.json"):
        for r in json.loads(results.read_text()).get("results", []):
            uid = r["unique_id"]
            seconds = round(r.get("execution_time") or 0.0, 2)
            if uid.startswith(("model.", "seed.")):
                times[uid.split(".")[-1]] = seconds
            elif uid.startswith(("test.", "unit_test.")):
                tests[".".join(uid.split(".")[2:4]) if uid.startswith("unit_test.")
                      else uid.split(".")[2]] = seconds
        if not os.environ.get("BENCH_KEEP"):  # the per-run target dirs pile up
            shutil.rmtree(results.parent, ignore_errors=True)
    slowest = dict(sorted(tests.items(), key=lambda kv: -kv[1])[:5])
    summary = {"count": len(tests), "seconds": round(sum(tests.values()), 1), "slowest": slowest}
    return dict(sorted(times.items(), key=lambda kv: -kv[1])), summary


def run_job(home: Path, raw: Path, log: Path) -> dict:
    env = {**os.environ, "KUNDENORBIT_HOME": str(home), "KUNDENORBIT_RAW_DIR": str(raw),
           "KUNDENORBIT_ID_SALT": "bench", "DAGSTER_HOME": str(home / ".dagster"),
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false",
           "PYTHONWARNINGS": "ignore"}
    env.pop("KUNDENORBIT_AS_OF", None)
    (home / ".dagster").mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO_ROOT / ".dagster" / "dagster.yaml", home / ".dagster" / "dagster.yaml")
    # exactly what `make run` does: confirm nothing changed, else run the job
    script = (f'"{BIN / "kundenorbit"}" up-to-date || "{BIN / "dagster"}" job execute '
              "-m pipelines.definitions -j kundenorbit_job")
    result = run_measured(["bash", "-c", script], env, log)
    text = log.read_text(errors="replace")
    result["skipped_as_up_to_date"] = "kundenorbit: up to date" in text
    if not result["skipped_as_up_to_date"] and "RUN_SUCCESS" not in text:
        raise SystemExit(f"bench: the job did not succeed; see {log}")
    result["steps_s"] = _step_times(log)
    result["dbt_models_s"], result["dbt_tests"] = _dbt_times(_run_id(log))
    return result


def _ledger_rows(home: Path) -> int:
    import duckdb

    con = duckdb.connect(str(home / "data" / "warehouse" / "kundenorbit.duckdb"), read_only=True)
    try:
        return int(con.execute("select coalesce(sum(rows_loaded), 0) from audit.load_ledger "
                               "where status = 'loaded'").fetchone()[0])
    finally:
        con.close()


def measure(size: str, incremental: bool) -> dict:
    source = dataset(size)
    work = BENCH_DIR / size / "run"
    shutil.rmtree(work, ignore_errors=True)
    raw = work / "raw"
    link_tree(source, raw)
    stats = raw_stats(raw)
    print(f"bench: {size}: {stats['total_rows']:,} raw rows in {stats['files']} files "
          f"({stats['bytes'] / 1e6:,.0f} MB)", flush=True)

    floors = [run_measured([sys.executable, "-m", "pipelines.benchmarks.pipeline", "floor", str(raw),
                            str(work / "floor.duckdb")], dict(os.environ), work / "floor.log")
              for _ in range(FLOOR_RUNS)]
    (work / "floor.duckdb").unlink(missing_ok=True)
    floor = {"seconds": statistics.median(f["seconds"] for f in floors),
             "peak_rss_mb": max(f["peak_rss_mb"] for f in floors),
             "runs_s": [f["seconds"] for f in floors]}
    print(f"bench: {size}: floor (DuckDB reads every file) {floor['seconds']:.1f} s "
          f"(median of {FLOOR_RUNS}: {', '.join(f'{x:.1f}' for x in floor['runs_s'])})", flush=True)

    home = work / "home"
    full = run_job(home, raw, work / "full.log")
    rows_loaded = _ledger_rows(home)
    print(f"bench: {size}: full refresh {full['seconds']:.1f} s, peak RSS {full['peak_rss_mb']:,} MB",
          flush=True)
    unchanged = run_job(home, raw, work / "unchanged.log")
    print(f"bench: {size}: unchanged re-run {unchanged['seconds']:.1f} s", flush=True)
    result = {
        "size": size, "people": SIZES[size], "raw": stats, "rows_loaded": rows_loaded,
        "floor": floor, "full": full, "unchanged": unchanged,
        "floor_ratio": round(full["seconds"] / floor["seconds"], 2),
        "rows_per_second": round(rows_loaded / full["seconds"]),
    }
    if incremental:
        added = add_one_day(raw)
        inc = run_job(home, raw, work / "incremental.log")
        result["incremental"] = {**inc, **added,
                                 "share_of_full": round(inc["seconds"] / full["seconds"], 3)}
        print(f"bench: {size}: one more day ({added['new_order_lines']:,} order lines, "
              f"{added['new_activity_rows']:,} activity rows) {inc['seconds']:.1f} s "
              f"= {inc['seconds'] / full['seconds']:.0%} of the full refresh", flush=True)
    if not os.environ.get("BENCH_KEEP"):  # BENCH_KEEP=1 keeps the run (logs, databases)
        shutil.rmtree(work, ignore_errors=True)
    return result


def targets(results: list[dict]) -> list[dict]:
    """The issue's targets against what was measured (never weakened; gaps reported)."""
    by = {r["size"]: r for r in results}
    out = []
    if "L" in by:
        L = by["L"]
        out += [
            {"target": "full refresh on L ≤ 10 min", "measured": f"{L['full']['seconds'] / 60:.1f} min",
             "met": L["full"]["seconds"] <= TARGETS["full_refresh_s_L"]},
            {"target": "peak RSS on L ≤ 8 GB", "measured": f"{L['full']['peak_rss_mb'] / 1024:.1f} GB",
             "met": L["full"]["peak_rss_mb"] <= TARGETS["peak_rss_mb_L"]},
            {"target": "L ≤ 3× the floor", "measured": f"{L['floor_ratio']:.1f}×",
             "met": L["floor_ratio"] <= TARGETS["floor_ratio_L"]},
        ]
        if "incremental" in L:
            share = L["incremental"]["share_of_full"]
            out.append({"target": "incremental on L ≤ 10 % of the full refresh",
                        "measured": f"{share:.0%}", "met": share <= TARGETS["incremental_share_L"]})
    if "S" in by:
        s = by["S"]["unchanged"]["seconds"]
        out.append({"target": "unchanged re-run on S ≤ 20 s", "measured": f"{s:.1f} s",
                    "met": s <= TARGETS["unchanged_rerun_s_S"]})
    return out


def report(results: list[dict]) -> list[str]:
    lines = ["| size | people | raw rows | floor s | full refresh s | ÷ floor | rows/s | peak RSS MB "
             "| unchanged re-run s | +1 day s (share of full) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        inc = r.get("incremental")
        inc_cell = f"{inc['seconds']:.1f} ({inc['share_of_full']:.0%})" if inc else "—"
        lines.append(
            f"| {r['size']} | {r['people']:,} | {r['raw']['total_rows']:,} | {r['floor']['seconds']:.1f} "
            f"| {r['full']['seconds']:.1f} | {r['floor_ratio']:.1f}× | {r['rows_per_second']:,} "
            f"| {r['full']['peak_rss_mb']:,} | {r['unchanged']['seconds']:.1f} | {inc_cell} |")
    for r in results:
        for run, label in (("full", ""), ("incremental", " +1 day")):
            if run not in r:
                continue
            steps = r[run]["steps_s"]
            name = f"{r['size']}{label}"
            lines.append("")
            lines.append(f"{name}: time per asset step (s): " + ", ".join(
                f"{k} {v:.1f}" for k, v in sorted(steps.items(), key=lambda kv: -kv[1])))
            slow = list(r[run]["dbt_models_s"].items())[:8]
            if slow:
                lines.append(f"{name}: slowest dbt models (s): "
                             + ", ".join(f"{k} {v:.1f}" for k, v in slow))
            tests = r[run].get("dbt_tests")
            if tests:
                lines.append(f"{name}: {tests['count']} dbt tests, {tests['seconds']:.1f} s; slowest: "
                             + ", ".join(f"{k} {v:.1f}" for k, v in tests["slowest"].items()))
    t = targets(results)
    if t:
        lines.append("")
        lines.append("| target | measured | met |")
        lines.append("|---|---|---|")
        lines += [f"| {x['target']} | {x['measured']} | {'yes' if x['met'] else '**no**'} |" for x in t]
    return lines


def plot_svg(results: list[dict], path: Path) -> None:
    """Time per stage of each full refresh as horizontal stacked bars (plain SVG)."""
    stages = [("ingest", lambda k: k.startswith("ingest")),
              ("dbt", lambda k: k.startswith("kundenorbit_dbt")),
              ("CLV models", lambda k: k == "clv_models"),
              ("publish + exports + docs", lambda k: True)]
    colours = ["#4e79a7", "#f28e2b", "#59a14f", "#bab0ac"]
    rows = []
    for r in results:
        for run, label in (("full", r["size"]), ("incremental", f"{r['size']} +1 day")):
            if run not in r:
                continue
            left = dict(r[run]["steps_s"])
            parts = []
            for name, pred in stages:
                keys = [k for k in left if pred(k)]
                parts.append((name, sum(left.pop(k) for k in keys)))
            rows.append((label, parts, r["floor"]["seconds"] if run == "full" else None,
                         r[run]["seconds"]))
    longest = max((wall for *_, wall in rows), default=1) or 1
    width, bar, scale = 790, 26, 560 / longest
    height = 70 + len(rows) * (bar * 2 + 16) + 30
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           'font-family="sans-serif" font-size="12">',
           '<text x="10" y="20" font-size="14" font-weight="bold">KundenOrbit full refresh and '
           '+1 day: time per stage (sum of Dagster step times) and the floor</text>']
    y = 40
    for label, parts, floor_s, wall in rows:
        svg.append(f'<text x="10" y="{y + 17}">{label}</text>')
        x = 90.0
        for (name, secs), colour in zip(parts, colours, strict=True):
            w = secs * scale
            svg.append(f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{bar}" fill="{colour}">'
                       f'<title>{name}: {secs:.1f} s</title></rect>')
            x += w
        svg.append(f'<text x="{x + 6:.1f}" y="{y + 17}">wall {wall:.0f} s</text>')
        y += bar + 4
        if floor_s is not None:
            svg.append(f'<rect x="90" y="{y}" width="{floor_s * scale:.1f}" height="{bar - 8}" '
                       'fill="#333"/>')
            svg.append(f'<text x="{90 + floor_s * scale + 6:.1f}" y="{y + 13}">floor {floor_s:.1f} s'
                       '</text>')
        y += bar + 12
    x = 90
    for (name, _), colour in zip(stages, colours, strict=True):
        svg.append(f'<rect x="{x}" y="{y + 6}" width="12" height="12" fill="{colour}"/>'
                   f'<text x="{x + 16}" y="{y + 16}">{name}</text>')
        x += 40 + 7 * len(name)
    svg.append("</svg>")
    path.write_text("\n".join(svg))


if __name__ == "__main__":
    if sys.argv[1] == "floor":
        floor_worker(Path(sys.argv[2]), Path(sys.argv[3]))
