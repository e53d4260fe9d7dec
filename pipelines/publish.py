"""Publish: copy the analyst-facing schemas from the working database into a fresh
DuckDB file, close it, verify it, fsync it, and swap it atomically onto the published
path with os.replace(). Readers holding the old file keep their snapshot; new
connections see the new one; a crash at any point leaves the published file untouched.

Incremental publish (design note 18): when the raw data has only grown since the last
publish (the same rule as for the incremental dbt models, `pipelines/incremental.py`) and
the published file is the one this working database produced, the new file starts as a
copy of the published one. The event facts, the lifecycle history and the identity
matches (`INCREMENTAL_TABLES`) then receive only the rows loaded or rebuilt since (delete +
insert by their key) and must end with exactly the row count of the working table, else
they are copied whole; every other table is copied whole.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.erasure import EMAIL_IN_TEXT
from pipelines.errors import PublishError
from pipelines.incremental import full_refresh_reason, read_ledger, record_build
from pipelines.settings import Settings, duckdb_config

# schema in the working database → schema in the published file
PUBLISHED_SCHEMAS = {"marts": "marts", "pii": "pii", "config": "config"}
# single tables for auditing: (schema, table) → (schema, table)
AUDIT_TABLES = {
    ("raw", "load_ledger"): ("audit", "load_ledger"),
    ("raw", "rejected_rows"): ("audit", "rejected_rows"),
    ("intermediate", "int_identities_matched"): ("audit", "identities_matched"),
    ("intermediate", "int_analysis_date"): ("audit", "analysis_date"),
}


@dataclass(frozen=True)
class Sync:
    """How a reused published table is brought up to date (design notes 18, 19)."""

    key: tuple[str, ...]  # rows are replaced by this key (the dbt model's unique_key)
    marker: str           # rows with a newer value than the published copy's newest are new
    prune: bool = False   # keys the working table no longer has are deleted


# tables published by their new rows: (schema, table) in the published file → Sync
INCREMENTAL_TABLES = {
    # event facts: `loaded_at` is the load time of the row's export file
    ("marts", "fct_orders"): Sync(("order_id",), "loaded_at"),
    ("marts", "fct_order_lines"): Sync(("order_id",), "loaded_at"),
    ("marts", "fct_newsletter_events"): Sync(("event_id",), "loaded_at"),
    # customer level: `built_at` is the dbt run that (re)built the row
    ("marts", "customer_lifecycle_history"): Sync(("snapshot_date",), "built_at", prune=True),
    ("audit", "identities_matched"): Sync(("record_type", "source_record_id"), "built_at"),
}
PUBLISH_STEP = "publish"
# columns of published audit tables that hold raw export text: e-mail addresses in them
# are masked (analysts' tables carry no addresses; pii.customer_contacts is the one place).
# The working database keeps the full text for whoever fixes the export file.
MASKED = {("raw", "rejected_rows"): ("raw_text", "reason")}


@dataclass(frozen=True)
class PublishInfo:
    path: Path
    tables: dict[str, int]
    as_of_date: str | None
    size_bytes: int
    mode: str = "full"  # or "incremental (<tables>: new rows only)"
    reason: str = ""    # why it was not incremental


def _published_at(path: Path) -> str | None:
    try:
        con = duckdb.connect(str(path), read_only=True, config=duckdb_config())
    except duckdb.Error:
        return None
    try:
        return str(con.execute("select max(published_at) from audit.publish_info").fetchone()[0])
    except duckdb.Error:
        return None
    finally:
        con.close()


def _full_publish_reason(settings: Settings, ledger) -> str | None:
    """Why the published file must be written from scratch; None when it may be reused."""
    if not settings.warehouse.exists():
        return "no published file yet"
    reason = full_refresh_reason(settings, PUBLISH_STEP, ledger)
    if reason:
        return reason
    con = duckdb.connect(str(settings.build_db), read_only=True, config=duckdb_config())
    try:
        recorded = con.execute("select published_at from raw.published_state").fetchone()
    except duckdb.Error:
        recorded = None
    finally:
        con.close()
    if recorded is None or recorded[0] != _published_at(settings.warehouse):
        return "the published file is not the one this working database last wrote"
    return None


def _columns(con: duckdb.DuckDBPyConnection, database: str, schema: str, table: str) -> list:
    return con.execute(
        """select column_name, data_type from duckdb_columns()
        where database_name = ? and schema_name = ? and table_name = ? order by column_index""",
        [database, schema, table]).fetchall()


def _sync_new_rows(con: duckdb.DuckDBPyConnection, src: str, dst: str, sync: Sync) -> bool:
    """Bring the reused copy `dst` up to `src` by the rows newer than its newest row.
    False when that does not give exactly src's row count (the caller copies it whole)."""
    cols, marker = ", ".join(sync.key), sync.marker
    key = f"({cols})" if len(sync.key) > 1 else cols
    newest = con.execute(f"select max({marker}) from {dst}").fetchone()[0]
    if newest is None:
        return False
    if sync.prune:
        con.execute(f"delete from {dst} where {key} not in (select distinct {cols} from {src})")
    con.execute(f"delete from {dst} where {key} in "
                f"(select {cols} from {src} where {marker} > ?)", [newest])
    con.execute(f"insert into {dst} select * from {src} where {marker} > ?", [newest])
    have, want = (con.execute(f"select count(*) from {t}").fetchone()[0] for t in (dst, src))
    return have == want


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish(settings: Settings) -> PublishInfo:
    """Build the published file next to its final place and swap it in atomically."""
    target = settings.warehouse
    build = settings.build_db
    if not build.exists():
        raise PublishError(f"{build}: working database not found; run the pipeline first")
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".{target.name}.*.tmp*"):
        stale.unlink(missing_ok=True)
    tmp = target.parent / f".{target.name}.{os.getpid()}.tmp"
    tables: dict[str, int] = {}
    try:
        ledger = read_ledger(settings)
    except duckdb.Error:  # a working database without a complete ledger: publish whole
        ledger = None
    reason = _full_publish_reason(settings, ledger)
    synced: list[str] = []
    try:
        if reason is None:
            shutil.copyfile(target, tmp)
        # row order is not part of a table's meaning; not keeping it lets DuckDB copy the
        # large marts without buffering them
        con = duckdb.connect(str(tmp), config={**duckdb_config(),
                                               "preserve_insertion_order": "false"})
        try:
            con.execute(f"attach '{build}' as build (read_only)")
            found = con.execute(
                """select schema_name, table_name from duckdb_tables()
                where database_name = 'build' order by 1, 2"""
            ).fetchall()
            copies = [
                ((s, t), (PUBLISHED_SCHEMAS[s], t)) for s, t in found if s in PUBLISHED_SCHEMAS
            ] + [(src, dst) for src, dst in AUDIT_TABLES.items() if src in set(found)]
            if reason is None:  # of the reused copy keep only the facts to bring up to date
                keep = {dst for _, dst in copies} & set(INCREMENTAL_TABLES)
                for ds, dt_ in con.execute(
                        """select schema_name, table_name from duckdb_tables()
                        where database_name = current_database()""").fetchall():
                    if (ds, dt_) not in keep:
                        con.execute(f'drop table "{ds}"."{dt_}"')
            here = con.execute("select current_database()").fetchone()[0]
            for (s, t), (ds, dt_) in copies:
                src, dst = f'build."{s}"."{t}"', f'"{ds}"."{dt_}"'
                con.execute(f'create schema if not exists "{ds}"')
                if (reason is None and (ds, dt_) in INCREMENTAL_TABLES
                        and _columns(con, "build", s, t) == _columns(con, here, ds, dt_)
                        and _sync_new_rows(con, src, dst, INCREMENTAL_TABLES[(ds, dt_)])):
                    synced.append(f"{ds}.{dt_}")
                else:
                    con.execute(f"drop table if exists {dst}")
                    columns = "*"
                    if (s, t) in MASKED:
                        columns = ", ".join(
                            f"regexp_replace({c}, '{EMAIL_IN_TEXT.replace(chr(39), 2 * chr(39))}', "
                            "'<e-mail address>', 'g') "
                            f"as {c}" if c in MASKED[(s, t)] else c
                            for c, _ in _columns(con, "build", s, t))
                    con.execute(f"create table {dst} as select {columns} from {src}")
                tables[f"{ds}.{dt_}"] = con.execute(f"select count(*) from {dst}").fetchone()[0]
            as_of = None
            if ("intermediate", "int_analysis_date") in set(found):
                as_of = str(con.execute(
                    "select as_of_date from audit.analysis_date").fetchone()[0])
            inputs = None
            if ("raw", "input_state") in set(found):
                from pipelines.uptodate import fingerprint

                states = dict(con.execute("select source, state from build.raw.input_state").fetchall())
                inputs = fingerprint(states, settings)
            published_at = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            mode = f"incremental ({', '.join(synced)}: new rows only)" if synced else "full"
            con.execute("create schema if not exists audit")
            con.execute(
                """create table audit.publish_info as select
                    ?::timestamp as published_at, ?::date as as_of_date, ? as tables,
                    ? as inputs_fingerprint, ? as publish_mode""",
                [published_at, as_of, json.dumps(tables), inputs, mode],
            )
            con.execute("detach build")
            con.execute("checkpoint")
        finally:
            con.close()
        if Path(str(tmp) + ".wal").exists():
            raise PublishError(f"{tmp}: write-ahead log left after close; not publishing")
        check = duckdb.connect(str(tmp), read_only=True)
        try:
            n = check.execute("select count(*) from duckdb_tables()").fetchone()[0]
        finally:
            check.close()
        if n != len(tables) + 1:
            raise PublishError(f"{tmp}: expected {len(tables) + 1} tables, found {n}")
        _fsync(tmp)
        os.replace(tmp, target)
        _fsync(target.parent)
    except (OSError, duckdb.IOException, duckdb.PermissionException) as exc:
        tmp.unlink(missing_ok=True)
        cause = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        msg = (f"could not publish {target}: {cause}. The previously published file is "
               f"unchanged; free disk space or fix the folder's permissions and run again")
        raise PublishError(msg) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _remember(settings, ledger, published_at)
    return PublishInfo(target, tables, as_of, target.stat().st_size, mode, reason or "")


def _remember(settings: Settings, ledger, published_at: dt.datetime) -> None:
    """What the published file was built from, for the next publish to decide on reuse."""
    if ledger is None:
        return
    record_build(settings, PUBLISH_STEP, ledger)
    con = duckdb.connect(str(settings.build_db), config=duckdb_config())
    try:
        con.execute("create or replace table raw.published_state as select ? as published_at",
                    [str(published_at)])
    finally:
        con.close()
