"""Predictive CLV per buyer: BG/NBD + Gamma-Gamma fitted on int_clv_inputs
(pipelines/models/clv.py; settings: the clv_* vars of dbt_project.yml)."""


def model(dbt, session):
    dbt.config(materialized="table")
    from pipelines.models import clv

    run, _ = clv.dbt_run(dbt.ref("int_clv_inputs"))
    return clv.as_relation(session, "predictions", run.predictions)
