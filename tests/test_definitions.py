"""The one Definitions object loads, with the job, schedule, sensor and checks."""

from __future__ import annotations

import dagster as dg


def test_definitions_load_with_every_part():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for table in ("shop__orders", "crm__contacts", "crm__companies", "crm__deals",
                  "crm__tickets", "crm__feedback", "newsletter__members", "newsletter__activity"):
        assert f"raw/{table}" in keys
    for mart in ("dim_customers", "fct_orders", "fct_order_lines", "fct_newsletter_events",
                 "customer_rfm", "customer_clv", "customer_contacts"):
        assert f"marts/{mart}" in keys or f"pii/{mart}" in keys
    assert {"warehouse/published", "warehouse/dbt_docs"} <= keys

    job = defs.resolve_job_def("kundenorbit_job")
    assert isinstance(job.executor_def, dg.ExecutorDefinition)
    assert job.executor_def.name == "in_process"
    assert defs.resolve_schedule_def("daily_refresh").cron_schedule == "0 6 * * *"
    assert defs.resolve_sensor_def("raw_files_sensor") is not None

    checks = {(c.asset_key.to_user_string(), c.name) for c in graph.asset_check_keys}
    assert ("raw/shop__orders", "raw_quality") in checks
    assert ("marts/dim_customers", "unique_dim_customers_customer_id") in checks
    blocking = [graph.get_check_spec(k) for k in graph.asset_check_keys
                if k.name == "raw_quality"]
    assert len(blocking) == 8 and all(s.blocking for s in blocking)


def test_dbt_sources_are_the_ingest_assets():
    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["staging", "stg_shop__orders"]))
    parents = {k.to_user_string() for k in node.parent_keys}
    assert parents == {"raw/shop__orders"}


def test_dbt_runs_in_two_steps_around_the_clv_fit():
    """dbt starts twice per run: before the Python CLV fit and after it (the seeds are
    not a step of their own; each dbt start-up costs seconds)."""
    from pipelines.definitions import defs

    job = defs.resolve_job_def("kundenorbit_job")
    steps = sorted(node.name for node in job.nodes)
    assert [s for s in steps if s.startswith("kundenorbit_dbt_models")] == [
        "kundenorbit_dbt_models", "kundenorbit_dbt_models_2"]
    assert "clv_models" in steps
