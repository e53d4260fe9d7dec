"""End-to-end: exports → ingest → dbt → publish, asserting values, not just success."""

from __future__ import annotations

import datetime as dt
import hashlib
import math
import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest

from tests.conftest import DATA, Workspace, run_pipeline

pytestmark = pytest.mark.slow


def shop_orders(ws: Workspace) -> pl.DataFrame:
    """The Shopify export read independently of the pipeline: one row per order."""
    frames = [pl.read_csv(p, infer_schema_length=0) for p in (ws.raw / "shop").glob("*.csv")]
    lines = pl.concat(frames)
    return lines.filter(pl.col("Total").is_not_null()).with_columns(
        email=pl.col("Email").str.strip_chars().str.to_lowercase(),
        total=pl.col("Total").cast(pl.Decimal(18, 2)),
        refunded=pl.col("Refunded Amount").fill_null("0").cast(pl.Decimal(18, 2)),
        cancelled=pl.col("Cancelled at").is_not_null(),
        created=pl.col("Created at").str.to_datetime("%Y-%m-%d %H:%M:%S %z")
        .dt.convert_time_zone("Europe/Berlin").dt.date(),  # var business_timezone
    )


def table_counts(ws: Workspace) -> dict[str, int]:
    tables = ws.query("""select schema_name || '.' || table_name from duckdb_tables()
                         where schema_name in ('marts', 'pii', 'config')""")
    return {t: ws.scalar(f"select count(*) from {t}") for (t,) in tables}


def table_checksums(ws: Workspace) -> dict[str, str]:
    """md5 over every row of every published table (row order ignored)."""
    tables = ws.query("""select schema_name, table_name from duckdb_tables()
                         where schema_name in ('marts', 'pii', 'config')
                            or (schema_name = 'audit' and table_name = 'identities_matched')""")
    return {
        f"{s}.{t}": ws.scalar(
            f"""select md5(coalesce(string_agg(r, '\n' order by r), ''))
                from (select cast(x as varchar) as r from "{s}"."{t}" as x)""")
        for s, t in tables
    }


def file_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------ shared demo run


def test_published_file_holds_every_mart(built_demo: Workspace):
    counts = table_counts(built_demo)
    for table in ("marts.dim_customers", "marts.fct_orders", "marts.fct_order_lines",
                  "marts.fct_newsletter_events", "marts.customer_rfm", "marts.customer_clv",
                  "pii.customer_contacts"):
        assert counts[table] > 0, table
    assert (built_demo.settings.docs_dir / "index.html").read_text().count("dim_customers") > 0


def test_net_revenue_reconciles_with_the_shop_export_to_the_cent(built_demo: Workspace):
    orders = shop_orders(built_demo)
    kept = orders.filter(~pl.col("cancelled"))
    expected = kept["total"].sum() - kept["refunded"].sum()
    assert built_demo.scalar("select sum(net_revenue_eur) from marts.fct_orders") == expected
    assert built_demo.scalar("select sum(net_revenue_eur) from marts.dim_customers") == expected
    assert built_demo.scalar("select count(*) from marts.fct_orders") == orders.height


def test_known_customer_rfm_scores_and_revenue(built_demo: Workspace):
    orders = shop_orders(built_demo)
    as_of = orders["created"].max()
    revenue = orders.filter(~pl.col("cancelled") & (pl.col("total") > pl.col("refunded")))
    per_customer = revenue.group_by("email").agg(
        frequency=pl.len(), last=pl.col("created").max()
    ).join(
        orders.filter(~pl.col("cancelled")).group_by("email").agg(
            monetary=(pl.col("total") - pl.col("refunded")).sum()),
        on="email",
    ).with_columns(recency=(pl.lit(as_of) - pl.col("last")).dt.total_days())
    # independent quintile scores: 1 + floor(5 × percent_rank), ties share the lowest rank
    n = per_customer.height

    def score(col: str, descending: bool) -> pl.Expr:
        rank = pl.col(col).rank("min", descending=descending)
        return pl.min_horizontal(5, 1 + ((rank - 1) / (n - 1) * 5).floor()).cast(pl.Int32)

    expected = per_customer.with_columns(
        r=score("recency", True), f=score("frequency", False), m=score("monetary", False))
    top = expected.sort(["frequency", "monetary"], descending=True).row(0, named=True)
    got = built_demo.query(
        """select r.recency_days, r.frequency_orders, r.monetary_eur, r.r_score, r.f_score,
                  r.m_score, d.net_revenue_eur, d.orders_count
        from marts.customer_rfm r
        join marts.dim_customers d using (customer_id)
        join pii.customer_contacts c using (customer_id)
        where c.email = ?""", [top["email"]])
    assert got == [(top["recency"], top["frequency"], top["monetary"], top["r"], top["f"],
                     top["m"], top["monetary"], top["frequency"])]
    # and the same scores for every buyer
    marts = pl.DataFrame(built_demo.query(
        """select c.email, r.r_score, r.f_score, r.m_score from marts.customer_rfm r
           join pii.customer_contacts c using (customer_id)"""),
        schema=["email", "r", "f", "m"], orient="row")
    diff = expected.select("email", "r", "f", "m").join(marts, on="email", suffix="_mart")
    assert diff.height == n
    assert (diff["r"] == diff["r_mart"]).all() and (diff["f"] == diff["f_mart"]).all()
    assert (diff["m"] == diff["m_mart"]).all()


def test_identity_resolution_merges_duplicates(built_demo: Workspace):
    contacts = pl.read_csv(
        next((built_demo.raw / "crm").glob("*contacts*.csv")), infer_schema_length=0
    ).with_columns(email=pl.col("Email").str.strip_chars().str.to_lowercase())
    dups = contacts.group_by("email").agg(ids=pl.col("Record ID")).filter(pl.col("ids").list.len() > 1)
    assert dups.height > 0, "the demo plants duplicate CRM contacts"
    for ids in dups["ids"].to_list()[:5]:
        matched = built_demo.query(
            """select distinct customer_id from audit.identities_matched
               where record_type = 'contact' and source_record_id in (?, ?)""", ids[:2])
        assert len(matched) == 1
        assert built_demo.scalar("select crm_contact_count from marts.dim_customers "
                                 "where customer_id = ?", [matched[0][0]]) == 2
    # orders typed in upper case or with spaces belong to the same customer
    messy = built_demo.scalar("""select count(*) from audit.identities_matched
        where record_type = 'order' and email_differed_in_case_or_spaces
          and match_rule = 'normalised_email'""")
    assert messy > 0
    assert built_demo.scalar("""select count(distinct customer_id) from pii.customer_contacts""") \
        == built_demo.scalar("select count(*) from marts.dim_customers")


def test_analyst_tables_carry_no_email_addresses(built_demo: Workspace):
    columns = built_demo.query(
        """select table_schema, table_name, column_name from information_schema.columns
        where table_schema in ('marts', 'audit', 'config') and data_type = 'VARCHAR'""")
    assert columns
    for schema, table, column in columns:
        n = built_demo.scalar(
            f"""select count(*) from {schema}.{table}
            where regexp_matches("{column}", '[^@\\s]+@[^@\\s]+\\.[a-z]{{2,}}')""")
        assert n == 0, f"{schema}.{table}.{column} holds e-mail addresses"
    assert built_demo.scalar("select count(email) from pii.customer_contacts") > 0


def test_consent_follows_unsubscribes(built_demo: Workspace):
    rows = dict(built_demo.query("""select newsletter_status, bool_or(has_marketing_consent)
        from marts.dim_customers group by 1"""))
    assert rows["unsubscribed"] is False and rows["cleaned"] is False
    assert rows["subscribed"] is True


# ------------------------------------------------------------------ runs of their own


def test_second_run_changes_nothing(demo_ws: Workspace, monkeypatch):
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    assert run_pipeline(demo_ws, monkeypatch).success
    first = table_checksums(demo_ws)
    assert len(first) >= 10
    revenue = demo_ws.scalar("select sum(net_revenue_eur) from marts.fct_orders")
    ledger = demo_ws.query("select source_file, sha256, rows_loaded from audit.load_ledger order by 1")
    result = run_pipeline(demo_ws, monkeypatch)
    assert result.success
    mats = result.get_asset_materialization_events()
    loaded_now = [m.materialization.metadata["rows_loaded_now"].value for m in mats
                  if m.asset_key.path[0] == "raw"]
    assert loaded_now and sum(loaded_now) == 0
    assert table_checksums(demo_ws) == first
    assert demo_ws.scalar("select sum(net_revenue_eur) from marts.fct_orders") == revenue
    assert demo_ws.query(
        "select source_file, sha256, rows_loaded from audit.load_ledger order by 1") == ledger


def test_analysis_date_ignores_later_orders(demo_ws: Workspace, monkeypatch):
    monkeypatch.setenv("KUNDENORBIT_AS_OF", "2025-06-30")
    assert run_pipeline(demo_ws, monkeypatch).success
    assert demo_ws.scalar("select as_of_date from audit.analysis_date") == dt.date(2025, 6, 30)
    assert demo_ws.scalar("select max(order_date) from marts.fct_orders") <= dt.date(2025, 6, 30)
    orders = shop_orders(demo_ws).filter(pl.col("created") <= dt.date(2025, 6, 30))
    kept = orders.filter(~pl.col("cancelled"))
    assert demo_ws.scalar("select sum(net_revenue_eur) from marts.fct_orders") == (
        kept["total"].sum() - kept["refunded"].sum())
    assert demo_ws.scalar("select max(recency_days) from marts.customer_rfm") <= (
        dt.date(2025, 6, 30) - orders["created"].min()).days


def test_shop_only_business_gets_its_marts(empty_ws: Workspace, demo_template: Path, monkeypatch):
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    shutil.copy(demo_template / "data/raw/shop/orders_export_1.csv", empty_ws.raw / "shop")
    assert run_pipeline(empty_ws, monkeypatch).success
    emails = shop_orders(empty_ws)["email"].n_unique()
    assert empty_ws.scalar("select count(*) from marts.dim_customers") == emails
    assert empty_ws.scalar("select count(*) from marts.dim_customers "
                           "where newsletter_status <> 'not_a_member' or is_in_crm") == 0


def test_exports_with_real_headers_never_seen_before(empty_ws: Workspace, monkeypatch):
    """Full 79-column Shopify header, HubSpot contacts with extra and reordered columns,
    a plain Mailchimp member CSV (no ZIP) with its geo/GDPR columns."""
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    shutil.copytree(DATA / "exports", empty_ws.raw, dirs_exist_ok=True)
    assert run_pipeline(empty_ws, monkeypatch).success
    assert empty_ws.query("""select source_file, rows_read, rows_loaded, rows_rejected
        from audit.load_ledger order by 1""") == [
        ("crm/hubspot-crm-exports-all-contacts-2025-06-30.csv", 3, 3, 0),
        ("newsletter/subscribed_members_export_0a1b2c3d4e.csv", 2, 2, 0),
        ("shop/orders_export_1.csv", 4, 4, 0),
    ]
    jana = empty_ws.query("""select d.orders_count, d.net_revenue_eur, d.is_in_shop, d.is_in_crm,
            d.is_in_newsletter, d.newsletter_status, d.has_marketing_consent,
            d.crm_lifecycle_stage, d.days_since_last_order, d.source_record_count
        from marts.dim_customers d join pii.customer_contacts c using (customer_id)
        where c.email = 'jana.kowalski@posteo.de'""")
    assert jana == [(2, Decimal("159.80"), True, True, True, "subscribed", True, "customer",
                     22, 4)]
    tom = empty_ws.query("""select d.customer_type, d.cancelled_orders_count, d.company_name,
            d.crm_lifecycle_stage from marts.dim_customers d
        join pii.customer_contacts c using (customer_id) where c.email = 'tom@bergwerk-bau.de'""")
    assert tom == [("prospect", 1, "Bergwerk Bau GmbH", "opportunity")]
    # a blocked address (example.com) is never matched: the contact stays its own person
    lea = empty_ws.query("""select match_rule from audit.identities_matched
                            where source_record_id = '453'""")
    assert lea == [("crm_contact_without_usable_email",)]
    assert empty_ws.scalar("select count(*) from marts.dim_customers") == 4
    assert empty_ws.scalar("select sum(net_revenue_eur) from marts.fct_orders") == Decimal("159.80")
    margin = empty_ws.scalar("select contribution_margin_eur from marts.fct_orders where order_id = '#2001'")
    # 59.80 − 9.55 VAT − cogs(2×24.90×0.42 + 10×0.55)/1.19 − 5.50 − 1.9 % fee
    cogs = (2 * 24.90 * 0.42 + 10.00 * 0.55) / (1 + 9.55 / (59.80 - 9.55))
    assert math.isclose(float(margin), 59.80 - 9.55 - round(cogs, 2) - 5.50 - round(59.80 * 0.019, 2),
                        abs_tol=0.011)


def test_failed_check_or_unreadable_file_never_reaches_the_published_file(
    demo_ws: Workspace, monkeypatch
):
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    assert run_pipeline(demo_ws, monkeypatch).success
    published = demo_ws.settings.warehouse
    before = file_hash(published)

    # 1. a survey export whose e-mail column holds names: rows load, the blocking GX
    #    check on the raw table fails and nothing downstream runs
    (demo_ws.raw / "crm" / "umfrage_q3.csv").write_text(
        "Email,Date,NPS,Comment\nAnna Berg,2026-07-01,9,toll\nBernd Hahn,2026-07-02,4,naja\n")
    result = run_pipeline(demo_ws, monkeypatch)
    assert not result.success
    evals = {e.asset_key.to_user_string(): e for e in result.get_asset_check_evaluations()}
    assert evals["raw/crm__feedback"].passed is False
    assert "crm/umfrage_q3.csv" in evals["raw/crm__feedback"].description
    assert file_hash(published) == before

    # 2. an unreadable file: the ingest step fails with a message naming it
    (demo_ws.raw / "crm" / "umfrage_q3.csv").unlink()
    (demo_ws.raw / "crm" / "notizen.csv").write_text("Foo;Bar\n1;2\n")
    result = run_pipeline(demo_ws, monkeypatch)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "crm/notizen.csv: not a recognised crm export" in message
    assert file_hash(published) == before

    # 3. fixed: the next run publishes again
    (demo_ws.raw / "crm" / "notizen.csv").unlink()
    assert run_pipeline(demo_ws, monkeypatch).success


def test_up_to_date_check_confirms_nothing_changed(built_demo: Workspace, monkeypatch):
    """`make run` / the daily schedule skip the rebuild only when exports, code and settings
    are what the published warehouse was built from."""
    import os

    import dagster as dg

    from pipelines.sensors import build_schedule_and_sensor
    from pipelines.uptodate import check

    monkeypatch.setenv("KUNDENORBIT_HOME", str(built_demo.home))
    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "test-salt")
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    monkeypatch.delenv("KUNDENORBIT_FORCE", raising=False)
    fresh, why = check(built_demo.settings)
    assert fresh, why
    schedule, _ = build_schedule_and_sensor(dg.define_asset_job("j"))
    assert isinstance(schedule(dg.build_schedule_context()), dg.SkipReason)

    # another analysis date → rebuild
    monkeypatch.setenv("KUNDENORBIT_AS_OF", "2025-06-30")
    assert not check(built_demo.settings)[0]
    monkeypatch.delenv("KUNDENORBIT_AS_OF")
    # a re-saved export → rebuild (mtime restored afterwards: the fixture is shared)
    shop = next((built_demo.raw / "shop").glob("*.csv"))
    st = shop.stat()
    try:
        os.utime(shop, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
        fresh, why = check(built_demo.settings)
        assert not fresh and "changed" in why
        assert isinstance(schedule(dg.build_schedule_context()), dg.RunRequest)
    finally:
        os.utime(shop, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert check(built_demo.settings)[0]
    monkeypatch.setenv("KUNDENORBIT_FORCE", "1")
    assert not check(built_demo.settings)[0]
