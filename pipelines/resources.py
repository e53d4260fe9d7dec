"""Configurable resources. Paths come from pipelines.settings (environment variables)."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.settings import Settings, duckdb_config, load_settings


class KundenOrbitResource(dg.ConfigurableResource):
    """Where the exports are, where the working and published warehouse files live."""

    raw_dir: str
    build_db: str
    warehouse: str
    as_of: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> KundenOrbitResource:
        return cls(
            raw_dir=str(settings.raw_dir),
            build_db=str(settings.build_db),
            warehouse=str(settings.warehouse),
            as_of=settings.as_of or "",
        )

    def settings(self) -> Settings:
        base = load_settings()
        return Settings(
            home=base.home,
            raw_dir=Path(self.raw_dir),
            warehouse=Path(self.warehouse),
            build_db=Path(self.build_db),
            as_of=self.as_of or None,
        )


def build_duckdb_resource(settings: Settings) -> DuckDBResource:
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    return DuckDBResource(database=str(settings.build_db), connection_config=duckdb_config())
