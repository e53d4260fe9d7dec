"""Paths and settings, all from environment variables with project-relative defaults.

| variable                 | default                                   | meaning                     |
|--------------------------|-------------------------------------------|-----------------------------|
| KUNDENORBIT_HOME         | repository root                           | base for relative paths     |
| KUNDENORBIT_RAW_DIR      | data/raw                                  | exports, one folder/source  |
| KUNDENORBIT_WAREHOUSE    | data/warehouse/kundenorbit.duckdb         | the published file          |
| KUNDENORBIT_BUILD_DB     | data/warehouse/.build/build.duckdb        | working database            |
| KUNDENORBIT_ERASURES     | data/erasures.json                        | erasure register (hashes)   |
| KUNDENORBIT_AS_OF        | (latest order date in the data)           | analysis date, YYYY-MM-DD   |
| KUNDENORBIT_ID_SALT      | generated once into data/warehouse/.salt  | keys customer_id hashing    |
| KUNDENORBIT_DUCKDB_MEMORY| 40 % of RAM, at most 5GB                  | DuckDB memory_limit per     |
|                          |                                           | build step (spills beyond)  |
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from pipelines.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("shop", "crm", "newsletter")


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
            "KUNDENORBIT_BUILD_DB": str(self.build_db),
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
