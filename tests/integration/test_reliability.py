"""Crash safety, concurrent readers and concurrent runs, with real processes."""

from __future__ import annotations

import csv
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO, Workspace, run_pipeline

pytestmark = pytest.mark.slow

FINGERPRINT = """select (select count(*) from marts.fct_orders),
                        (select sum(net_revenue_eur) from marts.fct_orders),
                        (select count(*) from marts.dim_customers),
                        (select count(*) from marts.customer_rfm),
                        (select count(*) from pii.customer_contacts)"""


def fingerprint(path: Path) -> tuple:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(FINGERPRINT).fetchone()
    finally:
        con.close()


def start_run(ws: Workspace) -> subprocess.Popen:
    env = {**os.environ, "KUNDENORBIT_ID_SALT": "test-salt"}
    env.pop("KUNDENORBIT_AS_OF", None)
    return subprocess.Popen([sys.executable, "-m", "tests.integration.run_once", str(ws.home)],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def test_random_kills_never_break_the_published_file(demo_ws: Workspace, monkeypatch):
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    assert run_pipeline(demo_ws, monkeypatch).success
    published = demo_ws.settings.warehouse
    good = fingerprint(published)
    rng = random.Random(int(os.environ.get("KILL_SEED", "20261124")))
    kills = int(os.environ.get("KILL_COUNT", "10"))
    # every third attempt starts from an empty working database, so kills also land in
    # the middle of loading files, not only in dbt and publish
    for i in range(kills):
        if i % 3 == 0:
            for p in [*demo_ws.settings.build_db.parent.glob("build.duckdb*"),
                      *demo_ws.settings.build_db.parent.glob("analysts.duckdb*")]:
                p.unlink()
        proc = start_run(demo_ws)
        time.sleep(rng.uniform(2.0, 22.0))
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        assert fingerprint(published) == good, f"after kill {i + 1}"
        assert not [p for p in published.parent.iterdir() if p.name.endswith(".wal")]
    final = start_run(demo_ws)
    assert final.wait(timeout=600) == 0
    assert fingerprint(published) == good
    assert not list(published.parent.glob(".*.tmp*"))


def test_readers_see_old_or_new_data_never_an_error(demo_ws: Workspace, monkeypatch):
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    assert run_pipeline(demo_ws, monkeypatch).success
    published = demo_ws.settings.warehouse
    old = fingerprint(published)
    # new data for the rebuild: a second export holding one more paid order
    shop = demo_ws.raw / "shop"
    with (shop / "orders_export_1.csv").open(newline="") as fh:
        rows = list(csv.reader(fh))
    extra = next(r for r in reversed(rows) if r[2] == "paid")
    extra[0] = "#999999"
    with (shop / "orders_export_2.csv").open("w", newline="") as fh:
        csv.writer(fh).writerows([rows[0], extra])

    reader_code = f"""
import duckdb, sys, time
seen, errors = set(), []
deadline = time.time() + 240
while time.time() < deadline:
    try:
        con = duckdb.connect({str(published)!r}, read_only=True)
        seen.add(repr(con.execute({FINGERPRINT!r}).fetchone()))
        con.close()
    except Exception as exc:
        errors.append(str(exc))
    if open(sys.argv[1]).read() == "stop":
        break
print(repr(sorted(seen)))
print(repr(errors[:3]))
"""
    flag = demo_ws.home / "stop.flag"
    flag.write_text("go")
    readers = [subprocess.Popen([sys.executable, "-c", reader_code, str(flag)],
                                stdout=subprocess.PIPE, text=True) for _ in range(2)]
    assert run_pipeline(demo_ws, monkeypatch).success
    new = fingerprint(published)
    assert new != old and new[0] == old[0] + 1
    flag.write_text("stop")
    for r in readers:
        out = r.communicate(timeout=60)[0].splitlines()
        seen, errors = eval(out[0]), eval(out[1])
        assert errors == []
        assert set(seen) <= {repr(old), repr(new)}
        assert repr(old) in seen


def test_two_runs_at_once_both_finish_one_after_the_other(demo_ws: Workspace):
    runs = [start_run(demo_ws), start_run(demo_ws)]
    assert [r.wait(timeout=900) for r in runs] == [0, 0]
    published = demo_ws.settings.warehouse
    con = duckdb.connect(str(published), read_only=True)
    try:
        ledger = con.execute(
            "select count(*), sum(rows_loaded) from audit.load_ledger where status = 'loaded'"
        ).fetchone()
        orders = con.execute("select count(*) from marts.fct_orders").fetchone()[0]
    finally:
        con.close()
    with (demo_ws.raw / "shop" / "orders_export_1.csv").open(newline="") as fh:
        raw_orders = sum(1 for row in csv.DictReader(fh) if row["Total"])  # one per order
    assert orders == raw_orders
    assert ledger[0] == 10
