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
