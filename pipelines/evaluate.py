"""`make evaluate`: how well the churn early warning finds the demo's planted churners.

Generates demo data (default 5,000 people, seed 42), builds the warehouse in a temporary
folder, and compares `marts.customer_churn_risk.risk_score` with the simulation's truth
(`dropped_out_at` ≤ analysis date) for every buyer the warehouse does not already call
churned. Reports ROC AUC and precision among the top 100, next to a baseline measured in
the same run: days since the last order alone; and 1 − P(alive) alone (the BG/NBD signal the
risk score mixes in).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import polars as pl

from pipelines.dbt import build_outside_dagster
from pipelines.demo.generate import DemoParams, generate
from pipelines.ingest.loader import load_source
from pipelines.settings import connect_working


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """ROC AUC via the Mann–Whitney U statistic (ties get average ranks)."""
    order = scores.argsort(kind="mergesort")
    ranks = np.empty(len(scores))
    ranks[order] = np.arange(1, len(scores) + 1)
    for value in np.unique(scores):  # average ranks of ties
        tie = scores == value
        ranks[tie] = ranks[tie].mean()
    pos = labels.sum()
    neg = len(labels) - pos
    return float((ranks[labels].sum() - pos * (pos + 1) / 2) / (pos * neg))


def precision_at(scores: np.ndarray, labels: np.ndarray, k: int) -> float:
    top = np.argsort(-scores, kind="mergesort")[:k]
    return float(labels[top].mean())


def evaluate(people: int, seed: int, workdir: Path) -> dict:
    raw, truth_dir, db = workdir / "raw", workdir / "truth", workdir / "build.duckdb"
    generate(raw, truth_dir, DemoParams(people=people, seed=seed), progress=False)
    con = duckdb.connect(str(db))
    for source in ("shop", "crm", "newsletter"):
        load_source(con, raw, source, dt.datetime.now())
    con.close()
    env = {**os.environ, "KUNDENORBIT_ID_SALT": "evaluate",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false"}
    build_outside_dagster(db, env)
    con = connect_working(db, read_only=True)
    as_of = con.execute("select as_of_date from intermediate.int_analysis_date").fetchone()[0]
    rows = con.execute("""select c.email, r.risk_score, r.days_since_last_order, 1 - r.p_alive
        from marts.customer_churn_risk r join pii.customer_contacts c using (customer_id)""").fetchall()
    scored = pl.DataFrame(rows, schema=["email", "risk_score", "days_since_last_order", "dropout"],
                          orient="row")
    con.close()
    truth = pl.read_csv(truth_dir / "people.csv", try_parse_dates=True).select(
        "email", (pl.col("dropped_out_at").is_not_null()
                  & (pl.col("dropped_out_at").cast(pl.Date) <= as_of)).alias("dropped_out"))
    data = scored.join(truth, on="email", how="inner")
    y = data["dropped_out"].to_numpy()
    risk = data["risk_score"].to_numpy().astype(float)
    recency = data["days_since_last_order"].to_numpy().astype(float)
    dropout = data["dropout"].fill_null(0.0).to_numpy().astype(float)
    return {
        "people": people, "seed": seed, "as_of": str(as_of), "buyers_scored": len(y),
        "true_dropouts": int(y.sum()),
        "auc_risk_score": round(auc(risk, y), 3), "auc_recency_baseline": round(auc(recency, y), 3),
        "auc_one_minus_p_alive": round(auc(dropout, y), 3),
        "precision_at_100_risk_score": round(precision_at(risk, y, 100), 3),
        "precision_at_100_recency_baseline": round(precision_at(recency, y, 100), 3),
        "precision_at_100_one_minus_p_alive": round(precision_at(dropout, y, 100), 3),
        "dropout_base_rate": round(float(y.mean()), 3),
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kundenorbit-eval-") as tmp:
        result = evaluate(args.people, args.seed, Path(tmp))
    width = max(len(k) for k in result)
    print("churn early warning vs the simulation's true dropouts")
    for key, value in result.items():
        print(f"  {key:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
