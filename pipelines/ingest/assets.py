"""Factory for a source's ingest assets: one multi-asset per source folder, one asset
(raw table) per entity, each with a blocking Great Expectations check."""


import datetime as dt

import dagster as dg
from dagster_duckdb import DuckDBResource

from pipelines.formats.profiles import profiles_for
from pipelines.ingest.loader import load_source
from pipelines.locking import build_lock
from pipelines.quality import check_table, suite_path
from pipelines.resources import KundenOrbitResource


def raw_key(table: str) -> dg.AssetKey:
    return dg.AssetKey(["raw", table])


def build_ingest_assets(source: str) -> dg.AssetsDefinition:
    """All raw tables of `source` are loaded in one pass over `data/raw/<source>/`,
    because a folder may hold any of the source's exports (files are told apart by
    their header, not their name)."""
    profiles = profiles_for(source)
    specs = [
        dg.AssetSpec(
            key=raw_key(p.table),
            group_name="ingest",
            description=f"{p.description} Profile `{p.name}`; rows keep `_source_file`, "
            "`_source_line`, `_loaded_at`.",
            kinds={"duckdb", "csv"},
        )
        for p in profiles
    ]
    checks = [
        dg.AssetCheckSpec(
            name="raw_quality",
            asset=raw_key(p.table),
            blocking=True,
            description=f"Great Expectations suite {suite_path(p.table).name} on every "
            "loaded file, and every row read is loaded or rejected.",
        )
        for p in profiles
    ]

    @dg.multi_asset(name=f"ingest_{source}", specs=specs, check_specs=checks)
    def _ingest(
        context: dg.AssetExecutionContext,
        duckdb: DuckDBResource,
        kundenorbit: KundenOrbitResource,
    ):
        settings = kundenorbit.settings()
        loaded_at = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0)
        with build_lock(settings.build_db, on_wait=context.log.warning), \
                duckdb.get_connection() as con:
            result = load_source(con, settings.raw_dir, source, loaded_at,
                                 settings.erasure_register)
            for f in result.files:
                context.log.info(f"{f.source_file}: {f.status} — {f.message}")
            outcomes = {p.table: check_table(con, p.table) for p in profiles}
            totals = {
                p.table: con.execute(f"select count(*) from raw.{p.table}").fetchone()[0]
                for p in profiles
            }
        for p in profiles:
            files = result.for_entity(p.entity)
            outcome = outcomes[p.table]
            yield dg.MaterializeResult(
                asset_key=raw_key(p.table),
                metadata={
                    "rows": totals[p.table],
                    "files_seen": len(files),
                    "files_loaded_now": sum(f.status == "loaded" for f in files),
                    "files_unchanged": sum(f.status == "unchanged" for f in files),
                    "rows_loaded_now": sum(f.rows_loaded for f in files),
                    "rows_rejected_now": sum(f.rows_rejected for f in files),
                    "rows_erased_now": sum(f.rows_erased for f in files),
                },
                check_results=[
                    dg.AssetCheckResult(
                        asset_key=raw_key(p.table),
                        check_name="raw_quality",
                        passed=outcome.passed,
                        severity=dg.AssetCheckSeverity.ERROR,
                        description=outcome.description,
                        metadata={"files_checked": outcome.files_checked,
                                  "files_failed": len(outcome.files_failed)},
                    )
                ],
            )
        if result.refused:
            lines = "\n".join(f"- {f.message}" for f in result.refused)
            raise dg.Failure(
                description=f"{len(result.refused)} {source} export file(s) could not be "
                f"read:\n{lines}",
                allow_retries=False,
            )

    return _ingest
