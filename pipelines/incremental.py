"""May a dbt step build incrementally, or must it rebuild everything (`--full-refresh`)?

The event-level models (shop orders and lines, newsletter activity and the facts built
on them) are dbt `incremental` models: a run reads only the rows of files loaded since
their last build (`_loaded_at`) plus those a moved analysis date brings into scope
(design note 17). That is only right while the raw data has *grown*: rows of a replaced
or removed file (or deleted from raw in any other way) would stay behind in the incremental tables; new
code, rules or a new ID salt change rows already built.

So each dbt step records what it was built from — every `raw.load_ledger` row (file,
content hash, status, load time), the code fingerprint with the dbt-core, dbt-duckdb and
DuckDB versions, and a hash of the salt — and the next run of the same step builds
incrementally only if every recorded ledger row is still there unchanged and code,
versions and salt are the same (design note 27). Anything else, or no record, means
`--full-refresh`. The record is written after the step succeeded, in the working database.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from collections.abc import Iterable

import duckdb

from pipelines.settings import Settings, duckdb_config
from pipelines.uptodate import code_fingerprint

LEDGER_COLUMNS = "source_file, coalesce(sha256, ''), status, cast(loaded_at as varchar)"


def step_key(asset_keys: Iterable[object]) -> str:
    """One dbt step = one selection of assets; the same selection gives the same key."""
    names = sorted(str(k) for k in asset_keys)
    return hashlib.sha256("\n".join(names).encode()).hexdigest()[:16]


def _settings_hash(settings: Settings) -> str:
    """The code, the salt and the engine: a new dbt-core, dbt-duckdb or DuckDB means a full
    refresh too (an incremental build leaves the unit tests out, transform.py)."""
    h = hashlib.sha256(code_fingerprint().encode())
    for package in ("dbt-core", "dbt-duckdb", "duckdb"):
        h.update(f"{package}=={importlib.metadata.version(package)}".encode())
    h.update(hashlib.sha256(settings.id_salt().encode()).digest())
    return h.hexdigest()


def read_ledger(settings: Settings) -> set[tuple[str, str, str, str]] | None:
    """The ledger as it is now (None when there is no working database or ledger yet)."""
    if not settings.build_db.exists():
        return None
    con = duckdb.connect(str(settings.build_db), read_only=True, config=duckdb_config())
    try:
        return set(con.execute(f"select {LEDGER_COLUMNS} from raw.load_ledger").fetchall())
    except duckdb.CatalogException:
        return None
    finally:
        con.close()


def _recorded(settings: Settings, step: str) -> tuple[str, set[tuple[str, str, str, str]]] | None:
    """(settings hash, ledger rows) this step was last built with, or None."""
    con = duckdb.connect(str(settings.build_db), read_only=True, config=duckdb_config())
    try:
        try:
            built = con.execute("select settings_hash from raw.dbt_built_with where step = ?",
                                [step]).fetchone()
            before = set(con.execute(
                "select source_file, sha256, status, loaded_at from raw.dbt_built_from "
                "where step = ?", [step]).fetchall())
        except duckdb.CatalogException:
            return None
    finally:
        con.close()
    return None if built is None else (built[0], before)


def full_refresh_reason(settings: Settings, step: str,
                        ledger: set[tuple[str, str, str, str]] | None) -> str | None:
    """Why this step must rebuild everything, or None when it may build incrementally."""
    if ledger is None:
        return "no load ledger yet"
    recorded = _recorded(settings, step)
    if recorded is None:
        return "first build"
    built, before = recorded
    if built != _settings_hash(settings):
        return "code, rules, ID salt or the dbt/DuckDB version changed since the last build"
    changed = sorted({row[0] for row in before - ledger})
    if changed:
        shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
        return f"export files replaced or removed since the last build: {shown}"
    return None


def changed_raw_tables(settings: Settings, step: str,
                       ledger: set[tuple[str, str, str, str]] | None) -> set[str] | None:
    """For a step that builds incrementally: the raw tables (`<source>__<entity>`, the dbt
    sources' identifiers) that got a file since the step's last build. A raw table
    outside this set holds exactly the rows that build read (files are only added
    between incremental builds; anything else is a full refresh). None when that cannot
    be told (no record, or a new ledger row without an entity): treat all as changed."""
    recorded = _recorded(settings, step) if ledger is not None else None
    if recorded is None:
        return None
    new_files = {row[0] for row in ledger - recorded[1]}
    if not new_files:
        return set()
    con = duckdb.connect(str(settings.build_db), read_only=True, config=duckdb_config())
    try:
        rows = con.execute("select source_file, source, entity from raw.load_ledger").fetchall()
    finally:
        con.close()
    tables = {file: (f"{source}__{entity}" if source and entity else None)
              for file, source, entity in rows if file in new_files}
    if len(tables) < len(new_files) or None in tables.values():
        return None
    return set(tables.values())


def record_build(settings: Settings, step: str,
                 ledger: set[tuple[str, str, str, str]] | None) -> None:
    """After a successful step: remember the ledger it was built from."""
    if ledger is None:
        return
    con = duckdb.connect(str(settings.build_db), config=duckdb_config())
    try:
        con.execute("begin transaction")
        con.execute("create table if not exists raw.dbt_built_with "
                    "(step varchar primary key, settings_hash varchar)")
        con.execute("create table if not exists raw.dbt_built_from "
                    "(step varchar, source_file varchar, sha256 varchar, status varchar, "
                    "loaded_at varchar)")
        con.execute("delete from raw.dbt_built_with where step = ?", [step])
        con.execute("delete from raw.dbt_built_from where step = ?", [step])
        con.execute("insert into raw.dbt_built_with values (?, ?)", [step, _settings_hash(settings)])
        if ledger:
            con.executemany("insert into raw.dbt_built_from values (?, ?, ?, ?, ?)",
                            [(step, *row) for row in sorted(ledger)])
        con.execute("commit")
    finally:
        con.close()
