"""Paths and settings, all from environment variables with project-relative defaults.

| variable                 | default                                   | meaning                     |
|--------------------------|-------------------------------------------|-----------------------------|
| KUNDENORBIT_HOME         | repository root                           | base for relative paths     |
| KUNDENORBIT_RAW_DIR      | data/raw                                  | exports, one folder/source  |
| KUNDENORBIT_WAREHOUSE    | data/warehouse/kundenorbit.duckdb         | the published file          |
| KUNDENORBIT_BUILD_DB     | data/warehouse/.build/build.duckdb        | working database (dbt writes|
|                          | (+ analysts.duckdb in the same folder)    | marts, pii, config, audit   |
|                          |                                           | to that)                    |
| KUNDENORBIT_ERASURES     | data/erasures.json                        | erasure register (hashes)   |
| KUNDENORBIT_AS_OF        | (latest order date in the data)           | analysis date, YYYY-MM-DD   |
| KUNDENORBIT_ID_SALT      | generated once into data/warehouse/.salt  | keys customer_id hashing    |
| KUNDENORBIT_DUCKDB_MEMORY| 40 % of RAM, at most 5GB                  | DuckDB memory_limit per     |
|                          |                                           | build step (spills beyond)  |
| KUNDENORBIT_DBT_THREADS  | 2 (1 on a one-core machine)               | dbt threads, except while a |
|                          |                                           | full refresh rebuilds the   |
|                          |                                           | event tables (then 1)       |
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import duckdb

from pipelines.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("shop", "crm", "newsletter")
# dbt writes the analysts' models (schemas marts, pii, config, and audit for the identity
# matches) into a file of their own next to the working database, attached under this
# name (profiles.yml); publishing copies that file (pipelines/publish.py, design notes 23, 24)
ANALYSTS_ALIAS = "analysts"
ANALYSTS_SCHEMAS = ("marts", "pii", "config", "audit")


def analysts_db_for(build_db: Path) -> Path:
    """The analysts' models' file that belongs to a working database."""
    return build_db.with_name("analysts.duckdb")


def working_env(build_db: Path) -> dict[str, str]:
    """The two paths profiles.yml reads, for a dbt subprocess on `build_db`."""
    return {"KUNDENORBIT_BUILD_DB": str(build_db),
            "KUNDENORBIT_ANALYSTS_DB": str(analysts_db_for(build_db))}


def connect_working(build_db: Path, read_only: bool = False,
                    config: dict[str, str] | None = None) -> duckdb.DuckDBPyConnection:
    """The working database with the analysts' models' file attached as `analysts` and
    its schemas on the search path: `marts.dim_customers` reads as in the published file,
    `intermediate.…` and `raw.…` as before."""
    con = duckdb.connect(str(build_db), read_only=read_only, config=config or {})
    analysts = analysts_db_for(build_db)
    if analysts.exists() or not read_only:
        con.execute(f"attach '{analysts}' as {ANALYSTS_ALIAS}" + (" (read_only)" if read_only else ""))
        have = {s for (s,) in con.execute(
            "select schema_name from duckdb_schemas() where database_name = ?",
            [ANALYSTS_ALIAS]).fetchall()}
        here = con.execute("select current_database()").fetchone()[0]
        path = [f"{here}.main"] + [f"{ANALYSTS_ALIAS}.{s}" for s in ANALYSTS_SCHEMAS if s in have]
        con.execute(f"set search_path = '{','.join(path)}'")
    return con


def _path(var: str, default: Path, home: Path) -> Path:
    value = os.environ.get(var)
    path = Path(value) if value else default
    return path if path.is_absolute() else (home / path)


def default_duckdb_memory() -> str:
    """40 % of the machine's memory, at most 5 GB (2 GB if it cannot be read)."""
    try:
        total_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text()
                        .splitlines() if line.startswith("MemTotal"))
    except (OSError, StopIteration, ValueError):
        return "2GB"
    return f"{max(1, min(5, int(total_kb * 0.4 / 1024 / 1024)))}GB"


def duckdb_config() -> dict[str, str]:
    """Settings for every DuckDB connection that builds: DuckDB's default memory_limit is
    80 % of RAM *per process*; capped, large sorts, joins and aggregates spill to disk
    (next to the database file) instead, so a 1 M-customer build stays within a few GB."""
    return {"memory_limit": os.environ.get("KUNDENORBIT_DUCKDB_MEMORY") or default_duckdb_memory()}


@dataclass(frozen=True)
class Settings:
    """Resolved locations and run settings."""

    home: Path
    raw_dir: Path
    warehouse: Path
    build_db: Path
    as_of: str | None

    @property
    def warehouse_dir(self) -> Path:
        return self.warehouse.parent

    @property
    def docs_dir(self) -> Path:
        return self.warehouse_dir / "docs"

    @property
    def exports_dir(self) -> Path:
        """Audience files for Mailchimp / HubSpot (data/exports/audiences)."""
        return self.home / "data" / "exports" / "audiences"

    @property
    def analysts_db(self) -> Path:
        """Where dbt writes the analysts' models (marts, pii, config); published by copy."""
        return analysts_db_for(self.build_db)

    @property
    def erasure_register(self) -> Path:
        """Erased people as salted hashes (pipelines/erasure.py); outside data/warehouse,
        so `make clean` keeps it."""
        return _path("KUNDENORBIT_ERASURES", Path("data/erasures.json"), self.home)

    @property
    def dbt_project_dir(self) -> Path:
        return REPO_ROOT / "dbt_project"

    def id_salt(self) -> str:
        """Secret salt for customer_id hashing; created once per installation."""
        env = os.environ.get("KUNDENORBIT_ID_SALT")
        if env:
            return env
        salt_file = self.warehouse_dir / ".salt"
        if not salt_file.exists():
            salt_file.parent.mkdir(parents=True, exist_ok=True)
            salt_file.write_text(secrets.token_hex(16))
        return salt_file.read_text().strip()

    def dbt_env(self) -> dict[str, str]:
        """Environment for a dbt subprocess (profiles.yml reads these)."""
        return {
            **working_env(self.build_db),
            "KUNDENORBIT_ID_SALT": self.id_salt(),
            "KUNDENORBIT_AS_OF": self.as_of or "",
            "KUNDENORBIT_DUCKDB_MEMORY": duckdb_config()["memory_limit"],
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DBT_VERSION_CHECK": "false",
        }


def load_settings() -> Settings:
    """Read settings from the environment; raise ConfigError on bad values."""
    home = Path(os.environ.get("KUNDENORBIT_HOME") or REPO_ROOT)
    as_of = os.environ.get("KUNDENORBIT_AS_OF") or None
    if as_of:
        try:
            dt.date.fromisoformat(as_of)
        except ValueError:
            msg = f"KUNDENORBIT_AS_OF must be a date like 2025-06-30, got {as_of!r}"
            raise ConfigError(msg) from None
    return Settings(
        home=home,
        raw_dir=_path("KUNDENORBIT_RAW_DIR", Path("data/raw"), home),
        warehouse=_path("KUNDENORBIT_WAREHOUSE", Path("data/warehouse/kundenorbit.duckdb"), home),
        build_db=_path("KUNDENORBIT_BUILD_DB", Path("data/warehouse/.build/build.duckdb"), home),
        as_of=as_of,
    )
