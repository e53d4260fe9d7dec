"""Issue #4 (part): lifecycle stages, monthly history, KPIs."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import polars as pl
import pytest

from pipelines.docs import dbt_executable
from pipelines.settings import connect_working, working_env
from tests.conftest import REPO, Workspace, copy_working

pytestmark = pytest.mark.slow


def _history_at(db: Path, snapshot: str) -> list[tuple]:
    con = connect_working(db, read_only=True)
    try:
        return con.execute(
            """select customer_id, lifecycle_stage, orders_to_date, last_order_date,
                      own_rhythm_days, unsubscribed_recently
            from marts.customer_lifecycle_history where snapshot_date = ?
            order by customer_id""", [snapshot]).fetchall()
    finally:
        con.close()


def test_history_is_the_same_built_in_one_run_or_month_by_month(
    built_demo: Workspace, tmp_path: Path
):
    one_run = built_demo.settings.build_db
    months = ["2025-03-31", "2025-12-31", "2026-06-30"]
    for month in months:
        db = copy_working(one_run, tmp_path / month / "build.duckdb")
        env = {**os.environ, **working_env(db), "KUNDENORBIT_AS_OF": month,
               "KUNDENORBIT_ID_SALT": "test-salt", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
               "DBT_VERSION_CHECK": "false"}
        project = REPO / "dbt_project"
        subprocess.run([dbt_executable(), "run", "--quiet", "--select",
                        "+customer_lifecycle_history", "--exclude", "resource_type:seed",
                        "--project-dir", str(project), "--profiles-dir", str(project)],
                       check=True, env=env, cwd=project)
        month_by_month = _history_at(db, month)
        assert month_by_month, month
        assert month_by_month == _history_at(one_run, month), month


def test_planted_people_have_their_lifecycle_stage(built_demo: Workspace):
    planted = pl.read_csv(built_demo.truth / "planted.csv").to_dicts()
    stage = {}
    for p in planted:
        stage[p["key"]] = built_demo.scalar(
            """select l.lifecycle_stage from marts.customer_lifecycle l
            join pii.customer_contacts c using (customer_id) where c.email = ?""", [p["email"]])
    assert stage["new"] == "new"
    assert stage["formerly_loyal"] == "churned" and stage["outraged"] == "churned"
    assert stage["heavy"] == "loyal"
    assert built_demo.scalar("""select count(*) from marts.customer_lifecycle
        where lifecycle_stage = 'prospect'""") == built_demo.scalar(
        "select count(*) from marts.dim_customers where customer_type = 'prospect'")


def test_kpis_add_up(built_demo: Workspace):
    last = built_demo.query("""select active_customers + loyal_customers + new_stage_customers
            + at_risk_customers + churned_customers + reactivated_customers, net_revenue_eur,
            retention_rate
        from marts.kpi_monthly order by month_end desc limit 1""")[0]
    buyers = built_demo.scalar("select count(*) from marts.dim_customers where customer_type = 'customer'")
    assert last[0] == buyers
    assert 0 < last[2] <= 1
    total = built_demo.scalar("select sum(net_revenue_eur) from marts.kpi_monthly")
    revenue_orders = built_demo.scalar("""select sum(net_revenue_eur) from marts.fct_orders
        where is_revenue_order and customer_id is not null""")
    assert total == revenue_orders
    cohort_total = built_demo.scalar("select sum(net_revenue_eur) from marts.retention_cohorts")
    assert cohort_total == revenue_orders


def test_churn_warning_beats_recency_on_planted_churners(tmp_path: Path):
    from pipelines.evaluate import evaluate

    result = evaluate(people=1500, seed=11, workdir=tmp_path)
    assert result["true_dropouts"] > 50
    assert result["auc_risk_score"] > 0.65
    assert result["auc_risk_score"] > result["auc_recency_baseline"]
    assert result["precision_at_100_risk_score"] > result["dropout_base_rate"]


def test_auc_matches_a_hand_computed_case():
    import numpy as np

    from pipelines.evaluate import auc, precision_at

    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.5])
    labels = np.array([True, False, True, False, False, True])
    # positive/negative pairs ranked correctly: (0.9>all 3 neg)=3, (0.7>0.6,0.5)=2,
    # (0.5 vs 0.5 tie)=0.5 → (3 + 2 + 0.5) / 9
    assert auc(scores, labels) == pytest.approx(5.5 / 9)
    assert precision_at(scores, labels, 2) == 0.5


def test_campaign_rates_match_the_activity_export(built_demo: Workspace):
    activity = pl.read_csv(next((built_demo.raw / "newsletter").glob("campaign_activity*.csv")),
                           infer_schema_length=0).with_columns(
        email=pl.col("Email Address").str.strip_chars().str.to_lowercase())
    per = activity.group_by("Campaign ID").agg(
        recipients=pl.col("email").filter(pl.col("Action") == "sent").n_unique(),
        bounced=pl.col("email").filter(pl.col("Action") == "bounce").n_unique(),
        openers=pl.col("email").filter(pl.col("Action") == "open").n_unique(),
    )
    got = dict((cid, (r, b, o)) for cid, r, b, o in built_demo.query(
        "select campaign_id, recipients, bounces, openers from marts.campaign_performance"))
    for row in per.iter_rows(named=True):
        assert got[row["Campaign ID"]] == (row["recipients"], row["bounced"], row["openers"])
    conv = built_demo.query("""select converted_customers, recipients - bounces
                               from marts.campaign_performance""")
    assert all(0 <= c <= n for c, n in conv) and sum(c for c, _ in conv) > 0


def test_bond_index_is_zero_without_communication(built_demo: Workspace):
    assert built_demo.scalar("""select count(*) from marts.customer_bond_index b
        join marts.dim_customers d using (customer_id)
        where d.newsletter_status in ('unsubscribed', 'cleaned', 'not_a_member')
          and d.newsletters_received_90d = 0 and b.bond_index <> 0""") == 0
    assert built_demo.scalar("select max(bond_index) from marts.customer_bond_index") <= 2
