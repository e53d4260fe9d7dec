"""The one Dagster Definitions of KundenOrbit (loaded by workspace.yaml)."""


import dagster as dg

from pipelines.dbt import KundenOrbitDbtCli, dbt_project
from pipelines.docs import build_docs, dbt_executable
from pipelines.exports import check_audiences, export_audiences
from pipelines.ingest.crm import ingest_crm
from pipelines.ingest.newsletter import ingest_newsletter
from pipelines.ingest.shop import ingest_shop
from pipelines.locking import build_lock
from pipelines.models.clv import clv_models
from pipelines.publish import publish
from pipelines.resources import KundenOrbitResource, build_duckdb_resource
from pipelines.sensors import build_schedule_and_sensor
from pipelines.settings import load_settings
from pipelines.transform import kundenorbit_dbt_models


@dg.asset(
    deps=[kundenorbit_dbt_models],
    group_name="publish",
    kinds={"duckdb"},
    key=dg.AssetKey(["warehouse", "published"]),
)
def published_warehouse(
    context: dg.AssetExecutionContext, kundenorbit: KundenOrbitResource
) -> dg.MaterializeResult:
    """The analysts' DuckDB file (marts, pii, config, audit), swapped in atomically."""
    settings = kundenorbit.settings()
    with build_lock(settings.build_db, on_wait=context.log.warning):
        info = publish(settings)
    context.log.info(f"published {len(info.tables)} tables, {info.size_bytes / 1e6:,.1f} MB")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(info.path)),
            "as_of_date": info.as_of_date or "",
            "size_mb": round(info.size_bytes / 1e6, 2),
            "tables": dg.MetadataValue.json(info.tables),
        }
    )


@dg.asset(
    deps=[published_warehouse],
    group_name="publish",
    kinds={"dbt", "html"},
    key=dg.AssetKey(["warehouse", "dbt_docs"]),
)
def dbt_docs_site(
    context: dg.AssetExecutionContext, kundenorbit: KundenOrbitResource
) -> dg.MaterializeResult:
    """Static dbt docs site (one HTML file, works from file://) with lineage."""
    settings = kundenorbit.settings()
    with build_lock(settings.build_db, on_wait=context.log.warning):
        path = build_docs(settings)
    return dg.MaterializeResult(metadata={"path": dg.MetadataValue.path(str(path))})


@dg.asset(
    deps=[published_warehouse],
    group_name="publish",
    kinds={"csv"},
    key=dg.AssetKey(["exports", "audiences"]),
)
def audience_exports(kundenorbit: KundenOrbitResource) -> dg.MaterializeResult:
    """Next-best-action audiences: Mailchimp CSVs per marketing action, a HubSpot call
    list (data/exports/audiences/). Only people with marketing consent in marketing lists."""
    settings = kundenorbit.settings()
    written = export_audiences(settings.warehouse, settings.exports_dir)
    return dg.MaterializeResult(metadata={
        "folder": dg.MetadataValue.path(str(settings.exports_dir)),
        **{f"rows_{name}": n for name, n in written.items()},
    })


@dg.multi_asset_check(specs=[
    dg.AssetCheckSpec("no_marketing_without_consent", asset=audience_exports, blocking=True,
                      description="Every address in a marketing audience has marketing consent."),
    dg.AssetCheckSpec("no_unsubscribed_or_cleaned", asset=audience_exports, blocking=True,
                      description="Nobody unsubscribed or cleaned in the newsletter tool is in a "
                                  "marketing audience."),
])
def audience_consent_checks(kundenorbit: KundenOrbitResource):
    """Both consent checks from one re-read of the written files (one step; each on its
    own read the same files and tables: 0.4 s each on L, design note 33)."""
    settings = kundenorbit.settings()
    result = check_audiences(settings.warehouse, settings.exports_dir)
    yield dg.AssetCheckResult(
        asset_key=audience_exports.key, check_name="no_marketing_without_consent",
        passed=not result.without_consent,
        description=("; ".join(result.without_consent[:20]) or
                     f"{result.rows_checked} addresses in {result.files_checked} files have consent"),
        metadata={"violations": len(result.without_consent)},
    )
    yield dg.AssetCheckResult(
        asset_key=audience_exports.key, check_name="no_unsubscribed_or_cleaned",
        passed=not result.unsubscribed_or_cleaned,
        description=("; ".join(result.unsubscribed_or_cleaned[:20]) or
                     f"none of {result.rows_checked} addresses is unsubscribed or cleaned"),
        metadata={"violations": len(result.unsubscribed_or_cleaned)},
    )


settings = load_settings()

kundenorbit_job = dg.define_asset_job(
    "kundenorbit_job",
    selection=dg.AssetSelection.all(),
    description="Ingest every export, build the marts, run all checks, publish, docs.",
)
daily_refresh, raw_files_sensor = build_schedule_and_sensor(kundenorbit_job)

defs = dg.Definitions(
    assets=[
        ingest_shop,
        ingest_crm,
        ingest_newsletter,
        kundenorbit_dbt_models,
        clv_models,
        published_warehouse,
        dbt_docs_site,
        audience_exports,
    ],
    asset_checks=[audience_consent_checks],
    jobs=[kundenorbit_job],
    schedules=[daily_refresh],
    sensors=[raw_files_sensor],
    resources={
        "duckdb": build_duckdb_resource(settings),
        "dbt": KundenOrbitDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable()),
        "kundenorbit": KundenOrbitResource.from_settings(settings),
    },
    executor=dg.in_process_executor,
)
