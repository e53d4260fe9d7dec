"""Verdicts on the fit in int_clv_predictions, one row per check (clv.checks); the five
tests clv_* on this model fail, as warnings, when a verdict is negative."""


def model(dbt, session):
    dbt.config(materialized="table")
    from pipelines.models import clv

    dbt.ref("int_clv_predictions")  # after the fit
    run, _ = clv.dbt_run(dbt.ref("int_clv_inputs"))
    return clv.as_relation(session, "checks", clv.check_rows(run))
