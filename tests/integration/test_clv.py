"""Predictive CLV end to end: the CDNOW sample as a Shopify orders export, through ingest →
dbt → clv.py → dbt → publish, reproduces the published parameters; the demo gets P(alive)
and predicted CLV on every buyer."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import pytest

from tests.conftest import DATA, Workspace, run_pipeline

pytestmark = pytest.mark.slow

HEADER = ["Name", "Email", "Financial Status", "Paid at", "Fulfillment Status", "Currency",
          "Subtotal", "Shipping", "Taxes", "Total", "Discount Amount", "Created at",
          "Lineitem quantity", "Lineitem name", "Lineitem price", "Lineitem sku",
          "Cancelled at", "Refunded Amount", "Id"]


def cdnow_as_shopify_export(dest: Path) -> int:
    """One Shopify order per CDNOW purchase (6,919), placed at noon Berlin time on its day;
    customer n becomes cdnow.n@kundenorbit-test.de. Returns the number of orders."""
    rows = [line.split() for line in (DATA / "cdnow" / "CDNOW_sample.txt").read_text().splitlines()]
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("w", newline="", encoding="utf-8") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for i, (_, customer, day, cds, dollars) in enumerate(rows, start=1):
            date = dt.datetime.strptime(day, "%Y%m%d")
            ts = f"{date:%Y-%m-%d} 12:00:00 {'+0200' if 4 <= date.month <= 9 else '+0100'}"
            amount = f"{float(dollars):.2f}"
            unit = f"{float(dollars) / max(int(cds), 1):.2f}"
            out.writerow([f"#{1000 + i}", f"cdnow.{int(customer)}@kundenorbit-test.de", "paid", ts,
                          "fulfilled", "EUR", amount, "0.00", "0.00", amount, "0.00", ts, cds,
                          "CD", unit, "CD-1", "", "0.00", str(5_000_000 + i)])
    return len(rows)


PUBLISHED = {("bg_nbd", "r"): 0.243, ("bg_nbd", "alpha"): 4.414, ("bg_nbd", "a"): 0.793,
             ("bg_nbd", "b"): 2.426, ("gamma_gamma", "p"): 6.25, ("gamma_gamma", "q"): 3.74,
             ("gamma_gamma", "gamma"): 15.44}


def test_cdnow_shop_export_reproduces_published_parameters(empty_ws: Workspace, monkeypatch):
    orders = cdnow_as_shopify_export(empty_ws.raw / "shop" / "orders_export_1.csv")
    monkeypatch.setenv("KUNDENORBIT_AS_OF", "1997-09-30")
    result = run_pipeline(empty_ws, monkeypatch)
    assert result.success
    assert empty_ws.scalar("select rows_loaded from audit.load_ledger") == orders

    params = {(m, p): (v, unit, ll, n, as_of, conv) for m, p, v, unit, ll, n, as_of, conv in empty_ws.query(
        """select model, parameter, value, time_unit, log_likelihood, n_customers, as_of_date,
                  converged
           from marts.clv_model_parameters where is_latest""")}
    assert set(params) == set(PUBLISHED)
    for key, published in PUBLISHED.items():
        value, unit, _, _, as_of, converged = params[key]
        assert abs(value - published) <= 0.01 * published, (key, value, published)
        assert as_of == dt.date(1997, 9, 30) and converged
        assert unit == ("week" if key[1] == "alpha" else None)
    assert params["bg_nbd", "r"][2] == pytest.approx(-9582.4, rel=0.01)
    assert params["bg_nbd", "r"][3] == 2357 and params["gamma_gamma", "p"][3] == 946

    # the data runs 273 days past the analysis date: back-test against what happened
    bt = empty_ws.query("""select holdout_days, actual_repeat_purchases,
            predicted_repeat_purchases, mae_per_customer, baseline_mae_per_customer
        from marts.clv_backtest where customer_group = 'all buyers'""")
    (days, actual, predicted, mae, baseline_mae), = bt
    assert (days, actual) == (273, 1882)
    assert predicted == pytest.approx(1653, rel=0.01)
    assert mae < baseline_mae

    # customer 1 (2 repeat purchases, t_x = 30.43, T = 38.86 weeks): in dim_customers
    one = empty_ws.query("""select d.p_alive, d.expected_purchases_365d, d.predicted_clv_eur,
            d.predicted_margin_clv_eur
        from marts.dim_customers d join pii.customer_contacts c using (customer_id)
        where c.email = 'cdnow.1@kundenorbit-test.de'""")
    (p_alive, e365, clv, margin_clv), = one
    assert 0.5 < p_alive < 1 and e365 > 0 and clv > 0 and 0 <= margin_clv < clv
    assert empty_ws.scalar("select count(*) from marts.customer_clv where p_alive is null") == 0


def test_demo_buyers_get_predictions_and_checks_pass(built_demo: Workspace):
    buyers, scored, reasons = built_demo.query("""
        select count(*), count(p_alive), count(distinct clv_null_reason)
        from marts.customer_clv where orders_count > 0 and net_revenue_eur > 0""")[0]
    assert buyers > 300 and scored == buyers and reasons == 0
    lo, hi = built_demo.query("select min(p_alive), max(p_alive) from marts.dim_customers")[0]
    assert 0 <= lo < hi <= 1
    # the demo world: λ ~ Gamma(0.9, 120 days), p ~ Beta(1, 5); 600 people estimate r, α
    # loosely (SE ≈ 20 %), so only the order of magnitude is asserted here — the tight
    # recovery test is in tests/unit/test_clv_models.py
    r, alpha = built_demo.query("""select max(value) filter (parameter = 'r'),
            max(value) filter (parameter = 'alpha')
        from marts.clv_model_parameters where is_latest and model = 'bg_nbd'""")[0]
    assert 0.3 < r < 3 and 120 / 7 / 3 < alpha < 120 / 7 * 3


def test_too_few_buyers_leaves_clv_null_with_a_reason(empty_ws: Workspace, monkeypatch):
    """The shop's own 4-order sample: nothing to fit, the pipeline still publishes."""
    import shutil

    shutil.copytree(DATA / "exports" / "shop", empty_ws.raw / "shop", dirs_exist_ok=True)
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    result = run_pipeline(empty_ws, monkeypatch)
    assert result.success  # the CLV checks fail loudly but do not block the rest
    failed = {e.check_name for e in result.get_asset_check_evaluations() if not e.passed}
    assert {"clv_enough_repeat_buyers", "clv_fit_converged", "clv_outputs_finite"} <= failed
    reasons = empty_ws.query("select distinct clv_null_reason from marts.customer_clv")
    assert sorted(r.split(" (")[0] for (r,) in reasons) == ["no purchase yet",
                                                           "too few buyers to fit the CLV models"]
    assert empty_ws.scalar("select count(*) from marts.customer_clv where predicted_clv_eur is not null") == 0
