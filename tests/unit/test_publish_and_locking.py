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
    """A working database with a load ledger and a staging table, and the analysts' file
    next to it with marts.dim_customers (n rows), as dbt leaves them."""
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(settings.build_db))
    con.execute("create schema if not exists raw")
    con.execute("create or replace table raw.load_ledger as select 'f.csv' as source_file")
    con.execute("create schema if not exists staging")
    con.execute("create or replace table staging.stg_orders as select 1 as order_id")
    con.close()
    con = duckdb.connect(str(settings.analysts_db))
    con.execute("create schema if not exists marts")
    con.execute("create or replace table marts.dim_customers as select range as id from range(?)",
                [n])
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


def test_leftovers_of_an_interrupted_dbt_model_are_not_published(tmp_path: Path):
    s = settings_for(tmp_path)
    make_build(s, 5)
    con = duckdb.connect(str(s.analysts_db))
    con.execute("create table marts.dim_customers__dbt_tmp as select 1 as id")
    con.execute("create table main.scratch as select 1 as id")
    con.close()
    info = publish_module.publish(s)
    assert info.tables == {"marts.dim_customers": 5, "audit.load_ledger": 1}
    pub = duckdb.connect(str(s.warehouse), read_only=True)
    try:
        assert pub.execute("select count(*) from duckdb_tables()").fetchone()[0] == 3  # + info
    finally:
        pub.close()


def test_a_write_ahead_log_left_in_the_analysts_file_is_published_too(tmp_path: Path):
    """A writer killed before its checkpoint leaves rows only in analysts.duckdb.wal; a byte
    copy of analysts.duckdb alone would lose them."""
    s = settings_for(tmp_path)
    make_build(s, 5)
    subprocess.run([sys.executable, "-c", (
        "import duckdb, os, sys; con = duckdb.connect(sys.argv[1]); "
        "con.execute('pragma disable_checkpoint_on_shutdown'); "
        "con.execute('insert into marts.dim_customers select range from range(5, 8)'); "
        "os._exit(0)"), str(s.analysts_db)], check=True)
    assert s.analysts_db.with_name("analysts.duckdb.wal").exists()
    publish_module.publish(s)
    assert count(s.warehouse) == 8


def test_publish_without_a_build_names_the_missing_file(tmp_path: Path):
    s = settings_for(tmp_path)
    make_build(s, 5)
    s.analysts_db.unlink()
    with pytest.raises(PublishError, match=r"analysts\.duckdb: working database not found; run the"):
        publish_module.publish(s)
    assert not s.warehouse.exists()


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
