"""Headline numbers of the published warehouse (printed at the end of `make run`)."""

from __future__ import annotations

import duckdb

from pipelines.errors import KundenOrbitError
from pipelines.settings import Settings


def summary_rows(settings: Settings) -> dict:
    if not settings.warehouse.exists():
        raise KundenOrbitError(f"{settings.warehouse}: not published yet; run `make run`")
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        one = lambda sql: con.execute(sql).fetchone()  # noqa: E731
        out = {
            "as_of_date": one("select as_of_date from audit.analysis_date")[0],
            "published_at": one("select published_at from audit.publish_info")[0],
            "customers": one("""select count(*) filter (where customer_type = 'customer'),
                                       count(*) filter (where customer_type = 'prospect'),
                                       count(*) from marts.dim_customers"""),
            "orders": one("""select count(*), sum(net_revenue_eur), sum(refunded_eur),
                                    count(*) filter (where is_cancelled)
                             from marts.fct_orders"""),
            "margin": one("select sum(contribution_margin_eur) from marts.customer_clv")[0],
            "segments": con.execute(
                """select rfm_segment, count(*), sum(monetary_eur) from marts.customer_rfm
                group by 1 order by 3 desc""").fetchall(),
            "classes": con.execute(
                """select value_class, count(*), sum(margin_after_service_eur)
                from marts.customer_value group by 1 order by 1""").fetchall(),
            "relationship": con.execute(
                """select relationship_segment, relationship_segment_de, count(*)
                from marts.customer_segments group by 1, 2 order by 3 desc""").fetchall(),
            "worth_it": con.execute(
                """select worth_it, count(*) from marts.customer_value group by 1
                order by 2 desc""").fetchall(),
            "lifecycle": con.execute(
                """select lifecycle_stage, count(*) from marts.customer_lifecycle
                group by 1 order by 2 desc""").fetchall(),
            "retention": one("""select retention_rate, churn_rate, repeat_purchase_rate, month_end
                from marts.kpi_monthly order by month_end desc limit 1"""),
            "clv": one("""select count(p_alive), median(p_alive), sum(predicted_clv_eur),
                                 sum(predicted_margin_clv_eur), any_value(clv_null_reason)
                          from marts.customer_clv"""),
            "clv_params": con.execute(
                """select model, parameter, value from marts.clv_model_parameters where is_latest
                order by model, parameter""").fetchall(),
            "backtest": one("""select holdout_days, actual_repeat_purchases, predicted_repeat_purchases,
                                      error_share, mae_per_customer, baseline_mae_per_customer
                               from marts.clv_backtest where customer_group = 'all buyers'"""),
            "files": one("""select count(*), sum(rows_loaded), sum(rows_rejected),
                                   count(*) filter (where status = 'refused')
                            from audit.load_ledger where status in ('loaded', 'refused')"""),
            "merged": one("""select (select count(*) from marts.dim_customers
                                     where crm_contact_count > 1),
                                    count(*) filter (where email_differed_in_case_or_spaces)
                             from audit.identities_matched"""),
        }
    finally:
        con.close()
    return out


def print_summary(settings: Settings) -> None:
    s = summary_rows(settings)
    buyers, prospects, total = s["customers"]
    n_orders, net, refunds, cancelled = s["orders"]
    files, loaded, rejected, refused = s["files"]
    eur = lambda x: f"{(x or 0):,.2f} €".replace(",", "_").replace(".", ",").replace("_", ".")  # noqa: E731
    print()
    print("KundenOrbit — published warehouse")
    print(f"  DuckDB file : {settings.warehouse}")
    print(f"  dbt docs    : {settings.docs_dir / 'index.html'}")
    print(f"  as of       : {s['as_of_date']}   (published {s['published_at']:%Y-%m-%d %H:%M} UTC)")
    print(f"  inputs      : {files} files, {loaded:,} rows loaded, {rejected:,} rejected"
          f" (audit.rejected_rows), {refused} files refused")
    print(f"  customers   : {total:,} people = {buyers:,} buyers + {prospects:,} prospects")
    print(f"  identities  : {s['merged'][0]:,} people had duplicate CRM contacts (merged); "
          f"{s['merged'][1]:,} records matched only after e-mail case/space clean-up")
    print(f"  orders      : {n_orders:,} ({cancelled:,} cancelled), net revenue {eur(net)}, "
          f"refunds {eur(refunds)}")
    print(f"  margin      : contribution margin to date {eur(s['margin'])}")
    print("  RFM segments:")
    for name, n, money in s["segments"]:
        print(f"    {name:<20} {n:>7,} customers  {eur(money):>16}")
    print("  Value classes (score from margin after service, trend, payment, service, potential):")
    total_people = sum(n for _, n, _ in s["classes"]) or 1
    for cls, n, money in s["classes"]:
        print(f"    {cls}  {n:>7,} ({100 * n / total_people:4.1f} %)  margin after service "
              f"{eur(money):>16}")
    print("  Relationship segments:")
    for name, name_de, n in s["relationship"]:
        print(f"    {name + ' / ' + name_de:<34} {n:>7,}")
    print("  Lifecycle  : " + ", ".join(f"{stage} {n:,}" for stage, n in s["lifecycle"]))
    ret, churn, repeat, month = s["retention"]
    print(f"  Retention  : {100 * (ret or 0):.1f} % in the month to {month} "
          f"(churn {100 * (churn or 0):.1f} %), repeat-purchase rate {100 * (repeat or 0):.1f} %")
    audiences = sorted(settings.exports_dir.glob("*.csv"))
    if audiences:
        sizes = [(p.stem, max(0, sum(1 for _ in p.open(encoding="utf-8")) - 1)) for p in audiences]
        print(f"  Audiences  : {settings.exports_dir}")
        print("    " + ", ".join(f"{name} {n:,}" for name, n in sizes))
    scored, median_alive, clv, margin_clv, reason = s["clv"]
    if scored:
        p = {f"{m}.{k}": v for m, k, v in s["clv_params"]}
        print(f"  Predictive : {scored:,} buyers scored (BG/NBD r {p.get('bg_nbd.r', 0):.3f}, "
              f"α {p.get('bg_nbd.alpha', 0):.2f} weeks, a {p.get('bg_nbd.a', 0):.3f}, "
              f"b {p.get('bg_nbd.b', 0):.3f}; "
              f"Gamma-Gamma p {p.get('gamma_gamma.p', 0):.2f}, q {p.get('gamma_gamma.q', 0):.2f}, "
              f"γ {p.get('gamma_gamma.gamma', 0):.2f})")
        print(f"               median P(alive) {median_alive:.2f}; next 12 months: revenue {eur(clv)}, "
              f"margin {eur(margin_clv)} (marts.customer_clv)")
    else:
        print(f"  Predictive : no CLV prediction — {reason}")
    if s["backtest"]:
        days, actual, predicted, err, mae, base = s["backtest"]
        print(f"  Back-test  : {days} days after the analysis date: predicted {predicted:,.0f} vs actual "
              f"{actual:,} repeat purchase days ({100 * (err or 0):+.1f} %); MAE per buyer {mae:.3f} "
              f"vs {base:.3f} naive")
    print("  Worth it? " + ", ".join(f"{w} {n:,}" for w, n in s["worth_it"]))
    print()
    print("  Query it (read-only, safe while the next run builds):")
    print(f"    .venv/bin/python -c \"import duckdb; con = duckdb.connect('{settings.warehouse}', "
          "read_only=True); con.sql('from marts.dim_customers limit 5').show()\"")
