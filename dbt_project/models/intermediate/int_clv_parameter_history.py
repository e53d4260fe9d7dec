"""Fitted parameters, one row per parameter per fit, kept across runs: incremental and
never rebuilt (full_refresh false), so a new version of the code keeps the history. A
fit of inputs and settings fitted before adds nothing (input_fingerprint)."""


def model(dbt, session):
    dbt.config(materialized="incremental", full_refresh=False)
    from pipelines.models import clv

    dbt.ref("int_clv_predictions")  # after the fit
    run, key = clv.dbt_run(dbt.ref("int_clv_inputs"))
    history = session.table(str(dbt.this)) if dbt.is_incremental else None
    rows = clv.as_relation(session, "parameters", clv.parameter_rows(run, key, history))
    return rows if dbt.is_incremental else clv.with_legacy_history(session, rows)
