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
    assert ("marts/dim_customers", "primary_key_dim_customers_customer_id") in checks
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


def test_an_incremental_step_leaves_out_only_what_its_inputs_cannot_have_changed():
    """Design note 25, on the real dbt project: which models and tests a step leaves out
    for a given set of raw tables with new files."""
    from pipelines.transform import dbt_name, kundenorbit_dbt_models, unchanged_nodes

    keys, checks = set(kundenorbit_dbt_models.keys), set(kundenorbit_dbt_models.check_keys)
    seeds = ["action_catalogue", "cost_rates", "industry_potential", "rfm_segments",
             "service_costs"]
    crm = ["stg_crm__companies", "stg_crm__contacts", "stg_crm__deals", "stg_crm__feedback",
           "stg_crm__tickets"]

    def left_out(changed):
        models, tests = unchanged_nodes(keys, checks, changed)
        return [dbt_name(k) for k in models], tests

    # a new day: orders and activity
    models, tests = left_out({"shop__orders", "newsletter__activity"})
    assert models == [*seeds, *crm, "stg_newsletter__members"]
    assert "primary_key_stg_crm__contacts_contact_id" in tests
    assert "primary_key_stg_shop__orders_order_id" not in tests
    # a new audience alone: the shop's tables and the test between them are left out
    models, tests = left_out({"newsletter__members"})
    assert {"stg_shop__orders", "stg_shop__order_lines", "stg_newsletter__activity"} <= set(models)
    assert "stg_newsletter__members" not in models
    assert "relationships_stg_shop__order_lines_order_id__order_id__ref_stg_shop__orders_" in tests
    assert "assert_net_revenue_reconciles" not in tests  # reads rebuilt marts too

    # nothing known, or everything new: nothing left out but the seeds / nothing
    assert left_out(None) == ([], [])
    every = {"shop__orders", "newsletter__activity", "newsletter__members", "crm__contacts",
             "crm__companies", "crm__deals", "crm__tickets", "crm__feedback"}
    assert left_out(every)[0] == seeds

    # no new file at all (a forced run, a new KUNDENORBIT_AS_OF): the analysis date and
    # everything that reads it is built; what does not read it may be left out
    models, _ = left_out(set())
    assert "int_analysis_date" not in models and "dim_customers" not in models
    assert "int_customer_orders_aggregated" not in models
    assert {"stg_shop__orders", "int_identities_matched", "int_customers_resolved"} <= set(models)

    # a model outside the step's selection is never left out by it
    step = {k for k in keys if dbt_name(k) != "stg_crm__deals"}
    assert "stg_crm__deals" not in [dbt_name(k) for k in unchanged_nodes(step, checks, set())[0]]
