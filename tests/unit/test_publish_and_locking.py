"""Publishing never breaks the published file; one writer at a time."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines import publish as publish_module
from pipelines.errors import PublishError
from pipelines.locking import BuildLockedError, build_lock
from pipelines.settings import Settings


def settings_for(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, raw_dir=tmp_path / "raw",
                    warehouse=tmp_path / "wh" / "kundenorbit.duckdb",
                    build_db=tmp_path / "wh" / ".build" / "build.duckdb", as_of=None)


def make_build(settings: Settings, n: int) -> None:
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.build_db))
    con.execute("create schema if not exists marts")
    con.execute("create or replace table marts.dim_customers as select range as id from range(?)",
                [n])
    con.execute("create schema if not exists raw")
    con.execute("create or replace table raw.load_ledger as select 'f.csv' as source_file")
    con.close()


def count(path: Path) -> int:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select count(*) from marts.dim_customers").fetchone()[0]
    finally:
        con.close()


def test_publish_copies_analyst_schemas_only(tmp_path: Path):
    s = settings_for(tmp_path)
    make_build(s, 5)
    info = publish_module.publish(s)
    assert count(s.warehouse) == 5
    assert info.tables == {"marts.dim_customers": 5, "audit.load_ledger": 1}
    assert not list(s.warehouse.parent.glob(".*.tmp*"))


def test_reader_keeps_its_snapshot_while_a_new_file_is_published(tmp_path: Path):
    s = settings_for(tmp_path)
    make_build(s, 5)
    publish_module.publish(s)
    reader = duckdb.connect(str(s.warehouse), read_only=True)
    make_build(s, 7)
    publish_module.publish(s)  # no lock error although a reader is connected
    assert reader.execute("select count(*) from marts.dim_customers").fetchone()[0] == 5
    reader.close()
    assert count(s.warehouse) == 7


@pytest.mark.parametrize(
    ("exc", "words"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "No space left on device"),
        (PermissionError(errno.EACCES, "Permission denied"), "Permission denied"),
        (duckdb.IOException("IO Error: No space left on device"), "No space left on device"),
    ],
)
def test_disk_full_or_permission_denied_leaves_the_published_file_intact(
    tmp_path: Path, monkeypatch, exc, words
):
    s = settings_for(tmp_path)
    make_build(s, 5)
    publish_module.publish(s)
    before = s.warehouse.read_bytes()
    make_build(s, 9)

    def failing_replace(src, dst):
        raise exc

    monkeypatch.setattr(publish_module.os, "replace", failing_replace)
    with pytest.raises(PublishError) as info:
        publish_module.publish(s)
    message = str(info.value)
    assert words in message and "previously published file is unchanged" in message
    assert s.warehouse.read_bytes() == before
    assert not list(s.warehouse.parent.glob(".*.tmp*"))


def test_publish_into_a_read_only_folder_fails_cleanly(tmp_path: Path):
    if os.geteuid() == 0:
        pytest.skip("root ignores folder permissions; covered by the simulated case above")
    s = settings_for(tmp_path)
    make_build(s, 5)
    publish_module.publish(s)
    s.warehouse.parent.chmod(0o555)
    try:
        with pytest.raises(PublishError, match="Permission denied"):
            publish_module.publish(s)
    finally:
        s.warehouse.parent.chmod(0o755)
    assert count(s.warehouse) == 5


HOLD = """
import fcntl, sys, time
fh = open(sys.argv[1], "a+")
fcntl.flock(fh, fcntl.LOCK_EX)
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_lock(tmp_path: Path, seconds: float) -> subprocess.Popen:
    (tmp_path / "wh" / ".build").mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-c", HOLD,
                             str(tmp_path / "wh" / ".build" / "build.lock"), str(seconds)],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_second_run_waits_for_the_first(tmp_path: Path):
    s = settings_for(tmp_path)
    other = hold_lock(tmp_path, 1.5)
    told: list[str] = []
    start = time.monotonic()
    with build_lock(s.build_db, timeout_s=30, on_wait=told.append):
        waited = time.monotonic() - start
    other.wait()
    assert waited >= 1.0
    assert told and "waiting for it to finish" in told[0]


def test_second_run_gives_up_with_a_clear_message(tmp_path: Path):
    s = settings_for(tmp_path)
    other = hold_lock(tmp_path, 5)
    try:
        with pytest.raises(BuildLockedError, match="another KundenOrbit run is still using"), \
                build_lock(s.build_db, timeout_s=0.5):
            pass
    finally:
        other.kill()
        other.wait()


def test_lock_of_a_killed_run_is_released(tmp_path: Path):
    s = settings_for(tmp_path)
    other = hold_lock(tmp_path, 60)
    other.kill()
    other.wait()
    with build_lock(s.build_db, timeout_s=2):
        pass


def test_docs_site_is_rebuilt_only_when_the_code_changed(tmp_path: Path, monkeypatch):
    import pipelines.docs as docs
    from pipelines.uptodate import code_fingerprint

    settings = Settings(home=tmp_path, raw_dir=tmp_path / "raw",
                        warehouse=tmp_path / "w" / "kundenorbit.duckdb",
                        build_db=tmp_path / "w" / ".build" / "build.duckdb", as_of=None)
    settings.docs_dir.mkdir(parents=True)
    (settings.docs_dir / "index.html").write_text("<html>lineage</html>")
    (settings.docs_dir / ".code_fingerprint").write_text(code_fingerprint())
    calls = []

    class Ran(Exception):
        pass

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        raise Ran

    monkeypatch.setattr(docs.subprocess, "run", fake_run)
    assert docs.build_docs(settings) == settings.docs_dir / "index.html"
    assert calls == []                      # same code: the site is still right
    with pytest.raises(Ran):
        docs.build_docs(settings, force=True)  # `make docs` always rebuilds
    (settings.docs_dir / ".code_fingerprint").write_text("older code")
    with pytest.raises(Ran):
        docs.build_docs(settings)           # code changed: rebuild
    assert [c[1:3] for c in calls] == [["docs", "generate"]] * 2


# ---------------------------------------------------------------- incremental publish

def make_fact_build(settings: Settings, files: list[tuple[str, str, str]],
                    orders: list[tuple[int, float, str]]) -> None:
    """A working database with a ledger (file, sha256, load time) and marts.fct_orders
    (order_id, amount, loaded_at) as the dbt models leave them."""
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.build_db))
    con.execute("create schema if not exists raw")
    con.execute("create schema if not exists marts")
    con.execute("create or replace table raw.load_ledger (source_file varchar, sha256 varchar, "
                "status varchar, loaded_at timestamp, rows_loaded bigint)")
    con.executemany("insert into raw.load_ledger values (?, ?, 'loaded', ?, 1)", files)
    con.execute("create or replace table marts.fct_orders "
                "(order_id bigint, amount double, loaded_at timestamp)")
    con.executemany("insert into marts.fct_orders values (?, ?, ?)", orders)
    con.execute("create or replace table marts.dim_customers as select range as id from range(3)")
    con.close()


def published_orders(path: Path) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("select order_id, amount from marts.fct_orders order by 1").fetchall()
    finally:
        con.close()


DAY1, DAY2 = "2026-10-01 06:00:00", "2026-10-02 06:00:00"


def test_grown_raw_data_publishes_only_the_new_fact_rows(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "test")
    s = settings_for(tmp_path)
    first = [("orders_1.csv", "aaa", DAY1)]
    make_fact_build(s, first, [(1, 10.0, DAY1), (2, 20.0, DAY1)])
    info = publish_module.publish(s)
    assert info.mode == "full" and info.reason == "no published file yet"

    # one more export file: two new orders; order 2 also arrives again (same key)
    grown = [*first, ("orders_2.csv", "bbb", DAY2)]
    make_fact_build(s, grown, [(1, 10.0, DAY1), (2, 21.0, DAY2), (3, 30.0, DAY2)])
    info = publish_module.publish(s)
    assert info.mode == "incremental (marts.fct_orders: new rows only)", info.reason
    assert published_orders(s.warehouse) == [(1, 10.0), (2, 21.0), (3, 30.0)]
    assert info.tables == {"marts.dim_customers": 3, "marts.fct_orders": 3, "audit.load_ledger": 2}
    assert count(s.warehouse) == 3


def test_rows_gone_from_the_working_table_make_the_fact_copied_whole(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "test")
    s = settings_for(tmp_path)
    first = [("orders_1.csv", "aaa", DAY1)]
    make_fact_build(s, first, [(1, 10.0, DAY1), (2, 20.0, DAY1)])
    publish_module.publish(s)
    # the ledger grew, but order 1 left the working table (e.g. the analysis date moved
    # back): syncing the new rows alone would keep it, so the row counts differ
    grown = [*first, ("orders_2.csv", "bbb", DAY2)]
    make_fact_build(s, grown, [(2, 20.0, DAY1), (3, 30.0, DAY2)])
    info = publish_module.publish(s)
    assert info.mode == "full"
    assert published_orders(s.warehouse) == [(2, 20.0), (3, 30.0)]


@pytest.mark.parametrize("change", ["replaced_file", "new_salt", "older_published_file"])
def test_publish_starts_from_scratch_when_reuse_would_be_wrong(tmp_path: Path, monkeypatch, change):
    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "test")
    s = settings_for(tmp_path)
    first = [("orders_1.csv", "aaa", DAY1)]
    make_fact_build(s, first, [(1, 10.0, DAY1), (2, 20.0, DAY1)])
    publish_module.publish(s)
    older = s.warehouse.read_bytes()
    make_fact_build(s, [*first, ("orders_2.csv", "bbb", DAY2)],
                    [(1, 10.0, DAY1), (2, 20.0, DAY1), (3, 30.0, DAY2)])
    publish_module.publish(s)
    if change == "replaced_file":  # orders_1.csv re-exported with order 2 corrected
        files = [("orders_1.csv", "ccc", DAY2), ("orders_2.csv", "bbb", DAY2)]
        rows = [(1, 10.0, DAY2), (2, 25.0, DAY2), (3, 30.0, DAY2)]
        expected, why = [(1, 10.0), (2, 25.0), (3, 30.0)], "replaced or removed"
    else:
        files = [*first, ("orders_2.csv", "bbb", DAY2), ("orders_3.csv", "ddd", DAY2)]
        rows = [(1, 10.0, DAY1), (2, 20.0, DAY1), (3, 30.0, DAY2), (4, 40.0, DAY2)]
        expected = [(1, 10.0), (2, 20.0), (3, 30.0), (4, 40.0)]
        if change == "new_salt":
            monkeypatch.setenv("KUNDENORBIT_ID_SALT", "another")
            why = "ID salt changed"
        else:  # someone put back an older published file
            s.warehouse.write_bytes(older)
            why = "not the one this working database last wrote"
    make_fact_build(s, files, rows)
    info = publish_module.publish(s)
    assert info.mode == "full" and why in info.reason
    assert published_orders(s.warehouse) == expected


def test_lifecycle_history_publishes_its_rebuilt_snapshots_and_drops_stale_ones(
        tmp_path: Path, monkeypatch):
    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "test")
    s = settings_for(tmp_path)
    build1, build2 = "2026-10-01 07:00:00", "2026-10-02 07:00:00"

    def history(rows: list[tuple[str, str, str, str]]) -> None:
        con = duckdb.connect(str(s.build_db))
        con.execute("create or replace table marts.customer_lifecycle_history "
                    "(customer_id varchar, snapshot_date date, lifecycle_stage varchar, "
                    "built_at timestamp)")
        con.executemany("insert into marts.customer_lifecycle_history values (?, ?, ?, ?)", rows)
        con.close()

    first = [("orders_1.csv", "aaa", DAY1)]
    make_fact_build(s, first, [(1, 10.0, DAY1)])
    history([("c1", "2026-08-31", "new", build1), ("c1", "2026-09-30", "active", build1),
             ("c1", "2026-10-01", "active", build1)])  # 10-01: the analysis date then
    assert publish_module.publish(s).mode == "full"

    # the next day: 08-31 kept as built, 09-30 rebuilt (a late order), 10-01 no longer
    # wanted (not a month end), 10-02 the new analysis date
    make_fact_build(s, [*first, ("orders_2.csv", "bbb", DAY2)],
                    [(1, 10.0, DAY1), (2, 20.0, DAY2)])
    history([("c1", "2026-08-31", "new", build1), ("c1", "2026-09-30", "loyal", build2),
             ("c1", "2026-10-02", "loyal", build2)])
    info = publish_module.publish(s)
    assert info.mode == ("incremental (marts.customer_lifecycle_history, marts.fct_orders: "
                         "new rows only)"), info.reason
    con = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        assert con.execute("select cast(snapshot_date as varchar), lifecycle_stage from "
                           "marts.customer_lifecycle_history order by 1").fetchall() == [
            ("2026-08-31", "new"), ("2026-09-30", "loyal"), ("2026-10-02", "loyal")]
    finally:
        con.close()


def test_published_rejects_show_no_email_addresses(tmp_path: Path):
    """audit.rejected_rows keeps file, line, column and reason for analysts, but the raw
    text's addresses are masked; the working database keeps the full text."""
    s = settings_for(tmp_path)
    make_build(s, 3)
    con = duckdb.connect(str(s.build_db))
    con.execute("""create table raw.rejected_rows as select 'shop/orders_export_1.csv' as
        source_file, 7 as source_line, 'Total' as column_name,
        'column `Email` must be an e-mail address, got ''Anna.S@web.de;x''' as reason,
        '#1001,Anna.S@web.de,"Müller <b.mueller@gmx.de>",abc' as raw_text""")
    con.close()
    publish_module.publish(s)
    pub = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        row = pub.execute("select source_file, source_line, column_name, reason, raw_text "
                          "from audit.rejected_rows").fetchone()
    finally:
        pub.close()
    assert row == ("shop/orders_export_1.csv", 7, "Total",
                   "column `Email` must be an e-mail address, got '<e-mail address>;x'",
                   '#1001,<e-mail address>,"Müller <<e-mail address>>",abc')
