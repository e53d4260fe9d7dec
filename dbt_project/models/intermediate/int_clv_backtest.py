"""Back-test of the fit in int_clv_predictions (the same fit, from the dbt process's cache)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from pipelines.models import clv

    dbt.ref("int_clv_predictions")  # after the fit
    run, _ = clv.dbt_run(dbt.ref("int_clv_inputs"))
    return clv.as_relation(session, "backtest", run.backtest)
