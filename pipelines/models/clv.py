"""Predictive customer-lifetime value: BG/NBD + Gamma-Gamma between the dbt models.

Reads `intermediate.int_clv_inputs` (one row per buyer as of the analysis date), fits both
models by maximum likelihood (`bgnbd.py`, `gamma_gamma.py`), and writes three tables into
the working database, schema `models`, which dbt reads as sources:

- `clv_predictions`      per buyer: p_alive, expected purchases per horizon, expected
                         spend per purchase, discounted predicted CLV, back-test columns,
                         and `clv_null_reason` when no prediction could be made;
- `clv_model_parameters` one row per fitted parameter per run (kept across runs; a re-run
                         on unchanged inputs adds nothing);
- `clv_backtest`         predicted vs actual repeat purchases after the analysis date, when
                         the data runs past it, next to a naive baseline.

Predicted CLV (revenue, EUR, incl. VAT as paid by the customer)::

    CLV = E[spend per purchase] · Σ_{k=1..K} (E[Y(t_k)] − E[Y(t_{k−1})]) / (1 + d)^(k/12)

with t_k = k months (365.25/12 days), K = `clv_horizon_months`, d =
`clv_annual_discount_rate`, E[Y(t)] the BG/NBD conditional expectation (paper eq. 10) and
E[spend] the Gamma-Gamma conditional mean. dbt multiplies it by the customer's historical
margin rate for the margin view (`customer_clv.predicted_margin_clv_eur`).

Settings: `clv_*` vars in `dbt_project/dbt_project.yml` (the one place for business rules).
"""


import hashlib
import math
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import pandas as pd
import polars as pl
import yaml

from pipelines.locking import build_lock
from pipelines.models import bgnbd, gamma_gamma
from pipelines.resources import KundenOrbitResource
from pipelines.settings import duckdb_config

DAYS_PER_MONTH = 365.25 / 12
TIME_UNIT_DAYS = {"day": 1.0, "week": 7.0}
SCHEMA = "models"


@dataclass(frozen=True)
class ClvConfig:
    time_unit: str = "week"
    horizons_days: tuple[int, ...] = (90, 365)
    horizon_months: int = 12
    annual_discount_rate: float = 0.10
    min_customers: int = 100
    min_repeat_buyers: int = 20
    backtest_min_holdout_days: int = 28
    backtest_max_error_share: float = 0.25

    def __post_init__(self):
        if self.time_unit not in TIME_UNIT_DAYS:
            raise ValueError(f"clv_time_unit must be one of {sorted(TIME_UNIT_DAYS)}, got {self.time_unit!r}")
        if not self.horizons_days or any(int(h) <= 0 for h in self.horizons_days):
            raise ValueError("clv_horizons_days must be a list of positive day counts")
        if self.horizon_months <= 0:
            raise ValueError("clv_horizon_months must be positive")

    @property
    def unit_days(self) -> float:
        return TIME_UNIT_DAYS[self.time_unit]

    @classmethod
    def from_dbt_project(cls, project_dir: Path) -> "ClvConfig":
        """The `clv_*` vars of dbt_project.yml."""
        vars_ = (yaml.safe_load((project_dir / "dbt_project.yml").read_text()) or {}).get("vars", {})
        kwargs = {}
        for f in cls.__dataclass_fields__:
            key = f"clv_{f}"
            if key in vars_:
                value = vars_[key]
                kwargs[f] = tuple(int(v) for v in value) if f == "horizons_days" else value
        return cls(**kwargs)


@dataclass
class ClvRun:
    """Everything one run produced; `checks()` turns it into pass/fail verdicts."""

    config: ClvConfig
    as_of_date: object
    n_customers: int
    n_repeat_buyers: int
    predictions: pl.DataFrame
    parameters: pl.DataFrame
    backtest: pl.DataFrame
    null_reason: str | None = None
    bgnbd_fit: bgnbd.FitResult | None = None
    gg_fit: gamma_gamma.FitResult | None = None
    spend_frequency_correlation: float | None = None
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def fitted(self) -> bool:
        return self.null_reason is None


# ----------------------------------------------------------------------------- compute


def _collapse(x: np.ndarray, tx: np.ndarray, T: np.ndarray):
    """Distinct (x, t_x, T) day triples with their counts and each customer's row index:
    many buyers share a history, so fitting and scoring work on far fewer rows."""
    span = int(max(T.max(initial=0), tx.max(initial=0))) + 1
    key = (x.astype(np.int64) * span + tx.astype(np.int64)) * span + T.astype(np.int64)
    _, first, inverse, counts = np.unique(key, return_index=True, return_inverse=True,
                                             return_counts=True)
    return first, inverse, counts.astype(np.float64)


def _empty_predictions(config: ClvConfig) -> dict[str, pl.DataType]:
    schema: dict[str, pl.DataType] = {"customer_id": pl.String, "p_alive": pl.Float64}
    for h in config.horizons_days:
        schema[f"expected_purchases_{h}d"] = pl.Float64
    schema |= {
        "expected_spend_per_purchase_eur": pl.Float64,
        "predicted_clv_eur": pl.Float64,
        "holdout_days": pl.Int64,
        "holdout_predicted_purchases": pl.Float64,
        "holdout_baseline_purchases": pl.Float64,
        "holdout_actual_purchases": pl.Int64,
        "clv_null_reason": pl.String,
    }
    return schema


def compute(inputs: pl.DataFrame, config: ClvConfig) -> ClvRun:
    """Fit and score. `inputs` has the columns of int_clv_inputs. Never raises on data that
    cannot be fitted: the run carries the reason and the CLV columns are null."""
    t0 = time.perf_counter()
    n = inputs.height
    as_of = inputs["as_of_date"][0] if n else None
    if isinstance(as_of, datetime):
        as_of = as_of.date()
    x_all = inputs["frequency"].to_numpy().astype(np.int64) if n else np.zeros(0, np.int64)
    repeat = int((x_all > 0).sum())
    schema = _empty_predictions(config)

    def unfitted(reason: str) -> ClvRun:
        preds = inputs.select(
            pl.col("customer_id").cast(pl.String),
            *[pl.lit(None, dtype=t).alias(c) for c, t in schema.items()
              if c not in {"customer_id", "holdout_days", "holdout_actual_purchases", "clv_null_reason"}],
            pl.col("holdout_days").cast(pl.Int64),
            pl.col("holdout_repeat_purchases").cast(pl.Int64).alias("holdout_actual_purchases"),
            pl.lit(reason).alias("clv_null_reason"),
        ).select(list(schema)) if n else pl.DataFrame(schema=schema)
        return ClvRun(config=config, as_of_date=as_of, n_customers=n, n_repeat_buyers=repeat,
                      predictions=preds, parameters=_parameters_frame(None, None, config, as_of, n),
                      backtest=_empty_backtest(), null_reason=reason)

    if n < config.min_customers:
        return unfitted(f"too few buyers to fit the CLV models ({n} < clv_min_customers "
                        f"{config.min_customers})")
    if repeat < config.min_repeat_buyers:
        return unfitted(f"too few repeat buyers to fit the CLV models ({repeat} < clv_min_repeat_buyers "
                        f"{config.min_repeat_buyers})")

    unit = config.unit_days
    tx_days = inputs["recency_days"].to_numpy().astype(np.int64)
    T_days = inputs["t_days"].to_numpy().astype(np.int64)
    first, inverse, counts = _collapse(x_all, tx_days, T_days)
    x_u, tx_u, T_u = x_all[first], tx_days[first] / unit, T_days[first] / unit
    seconds = {"prepare": time.perf_counter() - t0}

    t1 = time.perf_counter()
    bg = bgnbd.fit(x_u, tx_u, T_u, weights=counts)
    seconds["fit_bgnbd"] = time.perf_counter() - t1

    spend = inputs["mean_repeat_spend_eur"].to_numpy().astype(np.float64)
    rep_mask = (x_all > 0) & np.isfinite(spend) & (spend > 0)
    if rep_mask.sum() < 2:
        return unfitted("no repeat buyers with a positive repeat spend: Gamma-Gamma cannot be fitted")
    t1 = time.perf_counter()
    gg = gamma_gamma.fit(x_all[rep_mask], spend[rep_mask])
    seconds["fit_gamma_gamma"] = time.perf_counter() - t1
    corr = float(np.corrcoef(x_all[rep_mask], spend[rep_mask])[0, 1]) if rep_mask.sum() > 2 else None

    problems = []
    for name, fit in (("BG/NBD", bg), ("Gamma-Gamma", gg)):
        if not fit.converged:
            problems.append(f"{name} did not converge ({fit.message})")
        if fit.at_bounds:
            problems.append(f"{name} parameter(s) at the search bound: {', '.join(fit.at_bounds)}")
        if _unidentified(fit):
            problems.append(f"{name} parameter(s) not identified by the data (no finite standard "
                            f"error): {', '.join(_unidentified(fit))}")
    if gg.params.q <= 1:
        problems.append(f"Gamma-Gamma q = {gg.params.q:.3f} ≤ 1: mean spend is not finite")
    if problems:
        run = unfitted("; ".join(problems))
        run.bgnbd_fit, run.gg_fit, run.spend_frequency_correlation = bg, gg, corr
        run.parameters = _parameters_frame(bg, gg, config, as_of, n)
        return run

    # ---- score on the distinct histories, then gather per customer
    t1 = time.perf_counter()
    p = bg.params
    out: dict[str, np.ndarray] = {"p_alive": bgnbd.p_alive(p, x_u, tx_u, T_u)[inverse]}
    for h in config.horizons_days:
        out[f"expected_purchases_{h}d"] = bgnbd.expected_purchases(p, h / unit, x_u, tx_u, T_u)[inverse]
    # spend is per customer (not per history)
    exp_spend = gamma_gamma.expected_spend(gg.params, x_all, np.where(rep_mask, spend, 0.0))
    out["expected_spend_per_purchase_eur"] = exp_spend
    monthly_rate = (1.0 + config.annual_discount_rate) ** (1.0 / 12.0)
    discounted = np.zeros(len(first))
    previous = np.zeros(len(first))
    for k in range(1, config.horizon_months + 1):
        cumulative = bgnbd.expected_purchases(p, k * DAYS_PER_MONTH / unit, x_u, tx_u, T_u)
        discounted += (cumulative - previous) / monthly_rate**k
        previous = cumulative
    out["predicted_clv_eur"] = exp_spend * discounted[inverse]

    holdout_days = inputs["holdout_days"].to_numpy().astype(np.int64)
    holdout_actual = inputs["holdout_repeat_purchases"].to_numpy().astype(np.int64)
    h_days = int(holdout_days.max(initial=0))
    if h_days > 0:
        predicted = bgnbd.expected_purchases(p, h_days / unit, x_u, tx_u, T_u)
        out["holdout_predicted_purchases"] = predicted[inverse]
        # naive baseline: everyone keeps buying at their own repeat rate so far
        out["holdout_baseline_purchases"] = np.where(T_days > 0, x_all / np.maximum(T_days, 1) * h_days, 0.0)
    else:
        out["holdout_predicted_purchases"] = np.full(n, np.nan)
        out["holdout_baseline_purchases"] = np.full(n, np.nan)
    seconds["score"] = time.perf_counter() - t1

    preds = pl.DataFrame({"customer_id": inputs["customer_id"].cast(pl.String), **out}).with_columns(
        pl.Series("holdout_days", holdout_days, dtype=pl.Int64),
        pl.Series("holdout_actual_purchases", holdout_actual, dtype=pl.Int64),
        pl.lit(None, dtype=pl.String).alias("clv_null_reason"),
    ).with_columns(pl.col(pl.Float64).fill_nan(None)).select(list(schema))

    run = ClvRun(config=config, as_of_date=as_of, n_customers=n, n_repeat_buyers=repeat,
                 predictions=preds, parameters=_parameters_frame(bg, gg, config, as_of, n),
                 backtest=_backtest_frame(preds, x_all, as_of)
                 if h_days >= config.backtest_min_holdout_days else _empty_backtest(),
                 bgnbd_fit=bg, gg_fit=gg, spend_frequency_correlation=corr, seconds=seconds)
    return run


def _unidentified(fit) -> list[str]:
    return [k for k, v in fit.std_errors.items() if not math.isfinite(v)] if fit.converged else []


def _parameters_frame(bg, gg, config: ClvConfig, as_of, n: int) -> pl.DataFrame:
    rows = []
    for model, fit, unit in (("bg_nbd", bg, config.time_unit), ("gamma_gamma", gg, None)):
        if fit is None:
            continue
        for name, value in fit.params.as_dict().items():
            rows.append({
                "model": model, "parameter": name, "value": value,
                "std_error": fit.std_errors.get(name),
                # only α carries a time unit (a rate); r, a, b are unit-free
                "time_unit": unit if name == "alpha" else None,
                "log_likelihood": fit.log_likelihood, "n_customers": fit.n_customers,
                "as_of_date": as_of, "converged": fit.converged,
                "at_bound": name in fit.at_bounds, "iterations": fit.iterations,
            })
    return pl.DataFrame(rows, schema={
        "model": pl.String, "parameter": pl.String, "value": pl.Float64, "std_error": pl.Float64,
        "time_unit": pl.String,
        "log_likelihood": pl.Float64, "n_customers": pl.Int64, "as_of_date": pl.Date,
        "converged": pl.Boolean, "at_bound": pl.Boolean, "iterations": pl.Int64,
    })


_BACKTEST_SCHEMA = {
    "as_of_date": pl.Date, "holdout_days": pl.Int64, "customer_group": pl.String, "group_order": pl.Int64,
    "n_customers": pl.Int64, "actual_repeat_purchases": pl.Int64,
    "predicted_repeat_purchases": pl.Float64, "baseline_repeat_purchases": pl.Float64,
    "error_share": pl.Float64, "baseline_error_share": pl.Float64,
    "mae_per_customer": pl.Float64, "baseline_mae_per_customer": pl.Float64,
    "rmse_per_customer": pl.Float64, "baseline_rmse_per_customer": pl.Float64,
}


def _empty_backtest() -> pl.DataFrame:
    return pl.DataFrame(schema=_BACKTEST_SCHEMA)


def _backtest_frame(preds: pl.DataFrame, frequency: np.ndarray, as_of) -> pl.DataFrame:
    """Predicted vs actual repeat purchase days after the analysis date, for all buyers and
    by number of repeat purchase days before it (the paper's conditional-expectation view),
    next to the naive baseline "everyone keeps their own repeat rate"."""
    df = preds.select(
        pl.col("holdout_days"),
        pl.col("holdout_predicted_purchases").alias("pred"),
        pl.col("holdout_baseline_purchases").alias("base"),
        pl.col("holdout_actual_purchases").alias("actual"),
    ).with_columns(pl.Series("frequency", frequency))
    groups = [("all buyers", 0, pl.lit(True))] + [
        (f"{k} repeat purchase day{'s' if k != 1 else ''} before", k + 1, pl.col("frequency") == k)
        for k in range(7)
    ] + [("7+ repeat purchase days before", 8, pl.col("frequency") >= 7)]
    rows = []
    for label, order, cond in groups:
        g = df.filter(cond)
        if g.height == 0:
            continue
        actual = int(g["actual"].sum())
        pred, base = float(g["pred"].sum()), float(g["base"].sum())
        rows.append({
            "as_of_date": as_of, "holdout_days": int(df["holdout_days"].max()),
            "customer_group": label, "group_order": order, "n_customers": g.height,
            "actual_repeat_purchases": actual,
            "predicted_repeat_purchases": pred, "baseline_repeat_purchases": base,
            "error_share": (pred - actual) / actual if actual else None,
            "baseline_error_share": (base - actual) / actual if actual else None,
            "mae_per_customer": float((g["pred"] - g["actual"]).abs().mean()),
            "baseline_mae_per_customer": float((g["base"] - g["actual"]).abs().mean()),
            "rmse_per_customer": math.sqrt(float(((g["pred"] - g["actual"]) ** 2).mean())),
            "baseline_rmse_per_customer": math.sqrt(float(((g["base"] - g["actual"]) ** 2).mean())),
        })
    return pl.DataFrame(rows, schema=_BACKTEST_SCHEMA)


# ----------------------------------------------------------------------------- checks


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    description: str
    metadata: dict


CHECK_NAMES = ("clv_enough_repeat_buyers", "clv_fit_converged", "clv_parameters_inside_bounds",
               "clv_outputs_finite", "clv_backtest_within_tolerance")


def checks(run: ClvRun) -> list[CheckOutcome]:
    """One verdict per check in CHECK_NAMES (the Dagster asset checks use these)."""
    cfg = run.config
    out = []
    enough = run.n_customers >= cfg.min_customers and run.n_repeat_buyers >= cfg.min_repeat_buyers
    out.append(CheckOutcome(
        "clv_enough_repeat_buyers", enough,
        f"{run.n_customers} buyers, {run.n_repeat_buyers} repeat buyers (need ≥ {cfg.min_customers} "
        f"and ≥ {cfg.min_repeat_buyers})" + ("" if enough else f" — {run.null_reason}"),
        {"buyers": run.n_customers, "repeat_buyers": run.n_repeat_buyers}))

    fits = [(n, f) for n, f in (("BG/NBD", run.bgnbd_fit), ("Gamma-Gamma", run.gg_fit)) if f is not None]
    not_conv = [f"{n}: {f.message}" for n, f in fits if not f.converged]
    conv_ok = bool(fits) and not not_conv
    out.append(CheckOutcome(
        "clv_fit_converged", conv_ok,
        ("both models converged: " + ", ".join(f"{n} in {f.iterations} iterations, LL {f.log_likelihood:.1f}"
                                                for n, f in fits)) if conv_ok
        else ("did not converge — " + "; ".join(not_conv)) if not_conv
        else f"not fitted — {run.null_reason}",
        {n.replace("/", "").lower() + "_log_likelihood": f.log_likelihood for n, f in fits}))

    at_bounds = [f"{n} {', '.join(f.at_bounds)} at the search bound" for n, f in fits if f.at_bounds]
    at_bounds += [f"{n} {', '.join(_unidentified(f))} not identified (no finite standard error)"
                  for n, f in fits if _unidentified(f)]
    q_bad = run.gg_fit is not None and run.gg_fit.params.q <= 1
    bounds_ok = bool(fits) and not at_bounds and not q_bad
    params = {f"{n}.{k}": v for n, f in fits for k, v in f.params.as_dict().items()}
    out.append(CheckOutcome(
        "clv_parameters_inside_bounds", bounds_ok,
        ("parameters inside bounds: " + ", ".join(f"{k} = {v:.4g}" for k, v in params.items())) if bounds_ok
        else "; ".join(at_bounds + (["Gamma-Gamma q ≤ 1 (infinite mean spend)"] if q_bad else []))
        or f"not fitted — {run.null_reason}",
        params))

    value_cols = [c for c in run.predictions.columns if c.startswith(("p_alive", "expected_", "predicted_"))]
    bad = {}
    if run.fitted:
        for c in value_cols:
            col = run.predictions[c]
            n_bad = col.null_count() + int((~col.drop_nulls().is_finite()).sum()) + int((col < 0).sum())
            if c == "p_alive":
                n_bad += int((col > 1).sum())
            if n_bad:
                bad[c] = n_bad
    finite_ok = run.fitted and not bad
    out.append(CheckOutcome(
        "clv_outputs_finite", finite_ok,
        f"all {run.predictions.height} buyers have finite, non-negative predictions, p_alive in [0, 1]"
        if finite_ok else (f"invalid values: {bad}" if bad else f"no predictions — {run.null_reason}"),
        {"invalid_values": sum(bad.values())}))

    bt = run.backtest.filter(pl.col("customer_group") == "all buyers")
    if bt.height == 0:
        out.append(CheckOutcome(
            "clv_backtest_within_tolerance", True,
            "no back-test: the data does not run past the analysis date by "
            f"≥ {cfg.backtest_min_holdout_days} days (set KUNDENORBIT_AS_OF earlier to back-test)",
            {"holdout_days": 0}))
    else:
        r = bt.row(0, named=True)
        err = r["error_share"]
        within = err is not None and abs(err) <= cfg.backtest_max_error_share
        beats = r["mae_per_customer"] <= r["baseline_mae_per_customer"]
        out.append(CheckOutcome(
            "clv_backtest_within_tolerance", within and beats,
            f"{r['holdout_days']} days after {r['as_of_date']}: "
            f"predicted {r['predicted_repeat_purchases']:.0f} "
            f"vs actual {r['actual_repeat_purchases']} repeat purchases ({err:+.1%}, limit "
            f"±{cfg.backtest_max_error_share:.0%}); MAE per buyer {r['mae_per_customer']:.3f} vs "
            f"{r['baseline_mae_per_customer']:.3f} for the naive baseline"
            + ("" if beats else " — worse than the baseline") if err is not None
            else "no repeat purchases in the hold-out period to compare with",
            {"error_share": err, "mae": r["mae_per_customer"],
             "baseline_mae": r["baseline_mae_per_customer"]}))
    return out


# ----------------------------------------------------------------------------- warehouse I/O

INPUT_COLUMNS = ("customer_id", "as_of_date", "frequency", "recency_days", "t_days",
                 "mean_repeat_spend_eur", "holdout_days", "holdout_repeat_purchases")


def read_inputs(con: duckdb.DuckDBPyConnection) -> pl.DataFrame:
    # numpy, not Arrow: the project does not depend on pyarrow
    cols = con.execute(f"select {', '.join(INPUT_COLUMNS)} from intermediate.int_clv_inputs "
                       "order by customer_id").fetchnumpy()
    return pl.DataFrame({c: np.asarray(v) for c, v in cols.items()}).with_columns(
        pl.col("as_of_date").cast(pl.Date))


_DUCKDB_TYPES = {pl.String: "varchar", pl.Float64: "double", pl.Int64: "bigint", pl.Date: "date",
                 pl.Boolean: "boolean"}


def _replace_table(con: duckdb.DuckDBPyConnection, name: str, df: pl.DataFrame) -> None:
    """`create or replace` with the frame's declared column types (kept even when it is
    empty), filled via pandas/numpy: DuckDB scans pandas without pyarrow."""
    columns = ", ".join(f'"{c}" {_DUCKDB_TYPES[t]}' for c, t in df.schema.items())
    con.execute(f"create or replace table {name} ({columns})")
    _insert(con, name, df)


def _insert(con: duckdb.DuckDBPyConnection, name: str, df: pl.DataFrame) -> None:
    if df.height == 0:
        return
    frame = pd.DataFrame({c: df[c].to_list() if df.schema[c] == pl.Date else df[c].to_numpy()
                          for c in df.columns})
    casts = ", ".join(f'cast("{c}" as {_DUCKDB_TYPES[t]})' for c, t in df.schema.items())
    con.register("_clv_frame", frame)
    try:
        con.execute(f"insert into {name} select {casts} from _clv_frame")
    finally:
        con.unregister("_clv_frame")


def _fingerprint(inputs: pl.DataFrame, config: ClvConfig) -> str:
    h = hashlib.sha256(repr(config).encode())
    if inputs.height:
        h.update(inputs.hash_rows(seed=0).sort().to_numpy().tobytes())
    return h.hexdigest()[:16]


def write(con: duckdb.DuckDBPyConnection, run: ClvRun, fingerprint: str) -> None:
    """Replace predictions and back-test; append the parameters unless this exact input
    (fingerprint of inputs + config) was fitted before."""
    con.execute(f"create schema if not exists {SCHEMA}")
    _replace_table(con, f"{SCHEMA}.clv_predictions", run.predictions)
    _replace_table(con, f"{SCHEMA}.clv_backtest", run.backtest)
    params = run.parameters.with_columns(
        pl.lit(fingerprint).alias("input_fingerprint"),
        pl.lit(run.null_reason, dtype=pl.String).alias("message"),
    )
    expected = [(c, _DUCKDB_TYPES[t].upper()) for c, t in params.schema.items()]
    expected.append(("fitted_at", "TIMESTAMP"))
    layout = con.execute("select column_name, upper(data_type) from information_schema.columns "
                         "where table_schema = ? and table_name = 'clv_model_parameters' "
                         "order by ordinal_position", [SCHEMA]).fetchall()
    if layout != expected:  # new, or written by an older version: start the history afresh
        _replace_table(con, f"{SCHEMA}.clv_model_parameters", params.head(0))
        con.execute(f"alter table {SCHEMA}.clv_model_parameters add column fitted_at timestamp")
    seen = con.execute(f"select count(*) from {SCHEMA}.clv_model_parameters where input_fingerprint = ?",
                       [fingerprint]).fetchone()[0]
    if not seen:
        staging = f"{SCHEMA}.clv_model_parameters_new"
        _replace_table(con, staging, params)
        con.execute(f"insert into {SCHEMA}.clv_model_parameters "
                    f"select *, current_timestamp::timestamp from {staging}")
        con.execute(f"drop table {staging}")


def run_clv(build_db: Path, config: ClvConfig) -> ClvRun:
    """Read the inputs from the working database, fit, score, write back."""
    with duckdb.connect(str(build_db), config=duckdb_config()) as con:
        inputs = read_inputs(con)
        run = compute(inputs, config)
        t = time.perf_counter()
        write(con, run, _fingerprint(inputs, config))
        run.seconds["write"] = time.perf_counter() - t
    return run


# ----------------------------------------------------------------------------- Dagster asset

def _asset() -> dg.AssetsDefinition:
    keys = {t: dg.AssetKey([SCHEMA, t]) for t in ("clv_predictions", "clv_model_parameters", "clv_backtest")}
    descriptions = {
        "clv_predictions": "Per buyer: P(alive), expected purchases per horizon, expected spend per "
                           "purchase, discounted predicted CLV (BG/NBD + Gamma-Gamma); null with a "
                           "reason when the models cannot be fitted.",
        "clv_model_parameters": "Fitted BG/NBD (r, α, a, b) and Gamma-Gamma (p, q, γ) parameters, one "
                                "row per parameter per run, with log-likelihood and convergence.",
        "clv_backtest": "Predicted vs actual repeat purchases after the analysis date, against a "
                        "naive baseline (when the data runs past the analysis date).",
    }
    specs = [dg.AssetSpec(key=k, group_name="models", kinds={"python", "duckdb"},
                          description=descriptions[t],
                          deps=[dg.AssetKey(["intermediate", "int_clv_inputs"])])
             for t, k in keys.items()]
    check_specs = [
        dg.AssetCheckSpec(name=name, asset=keys["clv_backtest" if "backtest" in name else "clv_predictions"],
                          description=doc)
        for name, doc in zip(CHECK_NAMES, (
            "Enough buyers and repeat buyers to fit (clv_min_customers, clv_min_repeat_buyers).",
            "Both maximum-likelihood fits converged.",
            "No parameter at its search bound; Gamma-Gamma q > 1 (finite mean spend).",
            "No NaN, infinite or negative prediction; P(alive) within [0, 1].",
            "Back-test: aggregate error within clv_backtest_max_error_share and per-buyer error "
            "not worse than the naive baseline.",
        ), strict=True)
    ]

    @dg.multi_asset(name="clv_models", specs=specs, check_specs=check_specs)
    def clv_models(context: dg.AssetExecutionContext, kundenorbit: KundenOrbitResource):
        """BG/NBD + Gamma-Gamma fitted on int_clv_inputs; results back into the warehouse."""
        settings = kundenorbit.settings()
        config = ClvConfig.from_dbt_project(settings.dbt_project_dir)
        with build_lock(settings.build_db, on_wait=context.log.warning):
            run = run_clv(settings.build_db, config)
        if run.null_reason:
            context.log.error(f"Predictive CLV not computed: {run.null_reason}. "
                              "CLV columns are null; the rest of the pipeline continues.")
        if run.spend_frequency_correlation is not None and abs(run.spend_frequency_correlation) > 0.3:
            context.log.warning(
                f"Spend and frequency correlate ({run.spend_frequency_correlation:.2f}); Gamma-Gamma "
                "assumes they are independent — treat expected spend with care.")
        meta = {"as_of_date": str(run.as_of_date), "buyers": run.n_customers,
                "repeat_buyers": run.n_repeat_buyers,
                "seconds": dg.MetadataValue.json({k: round(v, 3) for k, v in run.seconds.items()})}
        yield dg.MaterializeResult(asset_key=keys["clv_predictions"], metadata={
            **meta, "null_reason": run.null_reason or "",
            "spend_frequency_correlation": run.spend_frequency_correlation or 0.0})
        yield dg.MaterializeResult(asset_key=keys["clv_model_parameters"], metadata={
            **meta, "parameters": dg.MetadataValue.json(
                {f"{r['model']}.{r['parameter']}": r["value"]
                 for r in run.parameters.iter_rows(named=True)})})
        yield dg.MaterializeResult(asset_key=keys["clv_backtest"], metadata={
            **meta, "groups": run.backtest.height})
        for outcome in checks(run):
            yield dg.AssetCheckResult(
                asset_key=keys["clv_backtest" if "backtest" in outcome.name else "clv_predictions"],
                check_name=outcome.name, passed=outcome.passed, description=outcome.description,
                severity=dg.AssetCheckSeverity.ERROR,
                metadata={k: v for k, v in outcome.metadata.items() if v is not None})

    return clv_models


clv_models = _asset()
