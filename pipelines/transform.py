"""dbt models as Dagster assets; dbt tests surface as Dagster asset checks."""


import os
from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings, DbtCliResource, dbt_assets

from pipelines.dbt import dbt_project
from pipelines.locking import build_lock
from pipelines.resources import KundenOrbitResource


class KundenOrbitDbtTranslator(DagsterDbtTranslator):
    """dbt sources are the ingest assets (`raw/<source>__<entity>`) or the Python model
    assets (`models/<table>`); models are grouped by layer (staging, intermediate, marts)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # source `models` = tables written by Python model assets (pipelines/models/)
            prefix = "models" if dbt_resource_props["source_name"] == "models" else "raw"
            return dg.AssetKey([prefix, dbt_resource_props["identifier"]])
        return super().get_asset_key(dbt_resource_props)

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "config"
        return fqn[1] if len(fqn) > 2 else "marts"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=KundenOrbitDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
)
def kundenorbit_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    kundenorbit: KundenOrbitResource,
):
    """`dbt build`: seeds, models and tests, into the working database."""
    settings = kundenorbit.settings()
    # dbt runs as a subprocess that inherits this environment (profiles.yml reads it)
    os.environ.update(settings.dbt_env())
    with build_lock(settings.build_db, on_wait=context.log.warning):
        yield from dbt.cli(["build"], context=context).stream()
