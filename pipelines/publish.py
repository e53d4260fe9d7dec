"""Publish: copy the analyst-facing schemas from the working database into a fresh
DuckDB file, close it, verify it, fsync it, and swap it atomically onto the published
path with os.replace(). Readers holding the old file keep their snapshot; new
connections see the new one; a crash at any point leaves the published file untouched.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.errors import PublishError
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
class PublishInfo:
    path: Path
    tables: dict[str, int]
    as_of_date: str | None
    size_bytes: int


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
            for (s, t), (ds, dt_) in copies:
                con.execute(f'create schema if not exists "{ds}"')
                con.execute(f'create table "{ds}"."{dt_}" as select * from build."{s}"."{t}"')
                tables[f"{ds}.{dt_}"] = con.execute(
                    f'select count(*) from "{ds}"."{dt_}"').fetchone()[0]
            as_of = None
            if ("intermediate", "int_analysis_date") in set(found):
                as_of = str(con.execute(
                    "select as_of_date from audit.analysis_date").fetchone()[0])
            inputs = None
            if ("raw", "input_state") in set(found):
                from pipelines.uptodate import fingerprint

                states = dict(con.execute("select source, state from build.raw.input_state").fetchall())
                inputs = fingerprint(states, settings)
            con.execute(
                """create table audit.publish_info as select
                    ?::timestamp as published_at, ?::date as as_of_date, ? as tables,
                    ? as inputs_fingerprint""",
                [dt.datetime.now(dt.UTC).replace(tzinfo=None), as_of, json.dumps(tables), inputs],
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
        reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
        msg = (f"could not publish {target}: {reason}. The previously published file is "
               f"unchanged; free disk space or fix the folder's permissions and run again")
        raise PublishError(msg) from exc
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return PublishInfo(target, tables, as_of, target.stat().st_size)
