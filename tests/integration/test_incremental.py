"""Incremental dbt builds (design note 17): a day of new exports built incrementally gives
exactly the tables a full rebuild gives; a replaced export makes every dbt step rebuild
in full, so rows that left the export leave the warehouse too."""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines import transform
from pipelines.benchmarks.pipeline import add_one_day, orders_placed_again
from pipelines.incremental import full_refresh_reason, read_ledger, record_build, step_key
from pipelines.settings import Settings, connect_working
from tests.conftest import Workspace, copy_working, run_pipeline

# columns that record *when* a row was loaded or built, not what it says
TIMING_COLUMNS = {"loaded_at", "_loaded_at", "published_at", "fitted_at", "built_at"}


@pytest.fixture
def decisions(monkeypatch) -> list[str | None]:
    """Every dbt step's decision: None = incremental, else the full-refresh reason."""
    seen: list[str | None] = []

    def spy(*args, **kwargs):
        reason = full_refresh_reason(*args, **kwargs)
        seen.append(reason)
        return reason

    monkeypatch.setattr(transform, "full_refresh_reason", spy)
    return seen


@pytest.fixture
def skipped(monkeypatch) -> list[list[str]]:
    """The models each incremental dbt step left out as unchanged (design note 25)."""
    seen: list[list[str]] = []

    def spy(*args, **kwargs):
        models, tests = transform_unchanged_nodes(*args, **kwargs)
        seen.append([transform.dbt_name(key) for key in models])
        return models, tests

    monkeypatch.setattr(transform, "unchanged_nodes", spy)
    return seen


transform_unchanged_nodes = transform.unchanged_nodes

SEEDS = ["action_catalogue", "cost_rates", "industry_potential", "rfm_segments", "service_costs"]


@pytest.fixture
def dbt_args(monkeypatch) -> list[list[str]]:
    """The arguments of every dbt command the Dagster steps ran."""
    from pipelines.dbt import KundenOrbitDbtCli

    seen: list[list[str]] = []
    original = KundenOrbitDbtCli.cli

    def spy(self, args, **kwargs):
        seen.append(list(args))
        return original(self, args, **kwargs)

    monkeypatch.setattr(KundenOrbitDbtCli, "cli", spy)
    return seen


def _differences(a: Path, b: Path) -> dict[str, tuple[int, int]]:
    """Tables of two published files whose rows differ (EXCEPT ALL both ways)."""
    con = duckdb.connect()
    con.execute(f"attach '{a}' as a (read_only)")
    con.execute(f"attach '{b}' as b (read_only)")
    tables = con.execute("""select schema_name, table_name from duckdb_tables()
                            where database_name = 'a' order by 1, 2""").fetchall()
    assert len(tables) >= 25
    diff = {}
    for schema, table in tables:
        if (schema, table) in {("audit", "publish_info"), ("audit", "load_ledger")}:
            continue  # when and in which run a file was loaded: differs by design
        cols = [c for (c,) in con.execute(
            """select column_name from duckdb_columns() where database_name = 'a'
               and schema_name = ? and table_name = ?""", [schema, table]).fetchall()
            if c not in TIMING_COLUMNS]
        select = ", ".join(f'"{c}"' for c in cols)
        where = " where is_latest" if table == "clv_model_parameters" else ""  # keeps history
        one, two = (f'select {select} from {db}."{schema}"."{table}"{where}' for db in "ab")
        n1 = con.execute(f"select count(*) from ({one} except all {two})").fetchone()[0]
        n2 = con.execute(f"select count(*) from ({two} except all {one})").fetchone()[0]
        if n1 or n2:
            diff[f"{schema}.{table}"] = (n1, n2)
    con.close()
    return diff


def add_late_orders(export: Path, days_back: int, every: int = 50) -> int:
    """Append to a new orders export some orders placed `days_back` days before its
    own (they arrive late); returns how many."""
    import polars as pl

    new = pl.read_csv(export, infer_schema_length=0)
    day = dt.date.fromisoformat(new["Created at"].drop_nulls()[0][:10]) - dt.timedelta(days_back)
    late = orders_placed_again(
        new.filter(pl.col("Name").is_in(new["Name"].unique().sort().gather_every(every).implode())),
        day, id_suffix="7")
    pl.concat([new, late]).write_csv(export)
    return late["Name"].n_unique()


def test_a_new_day_built_incrementally_equals_a_full_rebuild(
        demo_ws: Workspace, tmp_path: Path, monkeypatch, decisions, skipped, dbt_args):
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    assert run_pipeline(demo_ws, monkeypatch).success
    assert decisions and all(d == "first build" for d in decisions)
    # a full refresh runs the dbt unit tests with everything else
    assert len(dbt_args) == 2 and not any("--exclude-resource-type" in a for a in dbt_args)
    orders_before = demo_ws.scalar("select count(*) from marts.fct_orders")
    as_of_before = demo_ws.scalar("select as_of_date from audit.analysis_date")

    added = add_one_day(demo_ws.raw)
    late = add_late_orders(demo_ws.raw / "shop" / "orders_export_2.csv", days_back=75)
    decisions.clear()
    assert run_pipeline(demo_ws, monkeypatch).success
    assert decisions and all(d is None for d in decisions), decisions  # built incrementally
    # the same code as the last build: its unit tests (fixed inputs) are not run again
    assert len(dbt_args) == 4 and all(
        a[a.index("--exclude-resource-type") + 1] == "unit_test" for a in dbt_args[2:])
    # no CRM or audience export came: their staging tables were not rebuilt (note 25);
    # the step after the CLV fit reads the new orders through everything it holds
    assert skipped == [[*SEEDS, "stg_crm__companies", "stg_crm__contacts", "stg_crm__deals",
                        "stg_crm__feedback", "stg_crm__tickets", "stg_newsletter__members"], []]
    # the lifecycle history kept the month ends the new orders cannot reach; it rebuilt
    # those from the late orders' day on and added the new analysis date (design note 19)
    build = connect_working(demo_ws.settings.build_db, read_only=True)
    try:
        rebuilt, kept, months_rebuilt = build.execute("""
            with h as (select snapshot_date, built_at = max(built_at) over () as is_new
                       from marts.customer_lifecycle_history)
            select min(snapshot_date) filter (where is_new),
                   max(snapshot_date) filter (where not is_new),
                   (select count(*) from marts.kpi_monthly
                    where built_at = (select max(built_at) from marts.kpi_monthly))
            from h""").fetchone()
        late_day = build.execute("""select min(order_date) from marts.fct_orders
                                    where source_file = 'shop/orders_export_2.csv'""").fetchone()[0]
        # identity matching keyed just the new orders (no new CRM or audience export)
        orders_keyed = build.execute("""select count(*) filter (where record_type = 'order')
            from audit.identities_matched
            where built_at = (select max(built_at) from audit.identities_matched)
            """).fetchone()[0]
        wanted = build.execute("""select count(*) from intermediate.int_lifecycle_snapshot_dates
                                  where snapshot_date >= ?""", [rebuilt]).fetchone()[0]
        # the people tables rebuilt just the people of the newly keyed records (note 28)
        people_rebuilt, people_keyed, contacts_rebuilt = build.execute("""
            select (select count(*) from intermediate.int_customers_resolved
                    where built_at = (select max(built_at) from intermediate.int_customers_resolved)),
                   (select count(distinct customer_id) from audit.identities_matched
                    where built_at = (select max(built_at) from audit.identities_matched)),
                   (select count(*) from pii.customer_contacts
                    where built_at = (select max(built_at) from pii.customer_contacts))
            """).fetchone()
        people = build.execute("select count(*) from intermediate.int_customers_resolved").fetchone()[0]
        # the order totals rebuilt just the customers of the orders rebuilt (note 29)
        totals_rebuilt, buyers_rebuilt, buyers = build.execute("""
            select (select count(*) from intermediate.int_customer_order_totals
                    where built_at = (select max(built_at) from intermediate.int_customer_order_totals)),
                   (select count(distinct customer_id) from intermediate.int_orders_enriched
                    where built_at = (select max(built_at) from intermediate.int_orders_enriched)
                        and customer_id is not null),
                   (select count(*) from intermediate.int_customer_order_totals)
            """).fetchone()
    finally:
        build.close()
    assert kept < late_day <= rebuilt < as_of_before
    assert (rebuilt - late_day).days < 31 and months_rebuilt == wanted
    assert orders_keyed == added["new_orders"] + late
    assert 0 < people_rebuilt == people_keyed == contacts_rebuilt < people / 5
    assert 0 < totals_rebuilt == buyers_rebuilt < buyers / 5
    assert demo_ws.scalar("select count(*) from marts.fct_orders") == (
        orders_before + added["new_orders"] + late)
    # the new day's orders move the analysis date (their local day may be the day after)
    assert demo_ws.scalar("select as_of_date from audit.analysis_date") > as_of_before

    # the same exports, built from nothing
    full = Workspace(tmp_path / "full")
    shutil.copytree(demo_ws.raw, full.raw)
    decisions.clear()
    assert run_pipeline(full, monkeypatch).success
    assert all(d == "first build" for d in decisions)

    assert _differences(demo_ws.settings.warehouse, full.settings.warehouse) == {}


def test_orders_that_move_to_another_person_rebuild_the_people_as_from_scratch(
        demo_ws: Workspace, tmp_path: Path, monkeypatch, decisions):
    """A later export carries two orders again under another buyer's address: the first
    one's buyer, known from nothing else, is no longer a person; the second one's keeps
    one order less. The people tables are then what a full rebuild makes of them (design
    note 28: the record counts no longer add up, so everyone is rebuilt, and the person
    left without records is dropped)."""
    import polars as pl

    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    assert run_pipeline(demo_ws, monkeypatch).success
    only_order, gone = demo_ws.query("""
        select any_value(source_record_id), customer_id from audit.identities_matched
        where customer_id is not null group by customer_id
        having count(*) = 1 and any_value(record_type) = 'order'
        order by customer_id limit 1""")[0]
    one_of_two, loser = demo_ws.query("""
        select min(source_record_id), customer_id from audit.identities_matched
        where customer_id is not null group by customer_id
        having count(*) = 2 and bool_and(record_type = 'order')
        order by customer_id limit 1""")[0]
    taker, taker_email = demo_ws.query("""
        select c.customer_id, c.email from pii.customer_contacts c
        join marts.dim_customers d using (customer_id)
        where d.orders_count >= 2 and c.customer_id not in (?, ?)
        order by c.customer_id limit 1""", [gone, loser])[0]
    people = demo_ws.scalar("select count(*) from marts.dim_customers")

    export = pl.read_csv(demo_ws.raw / "shop" / "orders_export_1.csv", infer_schema_length=0)
    again = export.filter(pl.col("Name").is_in([only_order, one_of_two]))
    assert again["Name"].n_unique() == 2
    again.with_columns(pl.lit(taker_email).alias("Email")).write_csv(
        demo_ws.raw / "shop" / "orders_export_2.csv")

    decisions.clear()
    assert run_pipeline(demo_ws, monkeypatch).success
    assert decisions and all(d is None for d in decisions), decisions  # built incrementally
    assert demo_ws.scalar("select count(*) from marts.dim_customers") == people - 1
    for table in ("marts.dim_customers", "pii.customer_contacts"):
        assert demo_ws.scalar(f"select count(*) from {table} where customer_id = ?", [gone]) == 0
    assert demo_ws.query("""select distinct customer_id from marts.fct_orders
                            where order_id in (?, ?)""", [only_order, one_of_two]) == [(taker,)]

    full = Workspace(tmp_path / "full")
    shutil.copytree(demo_ws.raw, full.raw)
    assert run_pipeline(full, monkeypatch).success
    assert _differences(demo_ws.settings.warehouse, full.settings.warehouse) == {}
    # the working tables behind dim_customers too (they are not published)
    resolved, totals = [], []
    for ws in (demo_ws, full):
        con = connect_working(ws.settings.build_db, read_only=True)
        try:
            resolved.append(set(con.execute(
                "select * exclude (built_at) from intermediate.int_customers_resolved").fetchall()))
            totals.append(set(con.execute(
                "select * exclude (built_at) from intermediate.int_customer_order_totals").fetchall()))
        finally:
            con.close()
    assert resolved[0] == resolved[1]
    assert totals[0] == totals[1] and len(totals[0]) > 100
    assert [row[1:] for row in resolved[0] if row[0] == loser] != []


def test_a_replaced_export_rebuilds_in_full(demo_ws: Workspace, monkeypatch, decisions):
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    assert run_pipeline(demo_ws, monkeypatch).success
    orders = demo_ws.scalar("select count(*) from marts.fct_orders")

    # a corrected re-export under the same name, without one order
    export = demo_ws.raw / "shop" / "orders_export_1.csv"
    lines = export.read_text(encoding="utf-8").splitlines(keepends=True)
    gone = lines[1].split(",")[0]
    kept = [line for line in lines if not line.startswith(gone + ",")]
    assert len(kept) < len(lines)
    export.write_text("".join(kept), encoding="utf-8")

    decisions.clear()
    assert run_pipeline(demo_ws, monkeypatch).success
    assert decisions and all("shop/orders_export_1.csv" in d for d in decisions), decisions
    assert demo_ws.scalar("select count(*) from marts.fct_orders") == orders - 1
    for table in ("fct_orders", "fct_order_lines"):
        assert demo_ws.scalar(f"select count(*) from marts.{table} where order_id = ?",
                              [gone]) == 0


def test_full_refresh_reasons(demo_ws: Workspace, monkeypatch):
    """The decision itself: no ledger, first build, unchanged, added, replaced, removed,
    new code or salt."""
    import datetime as dt

    from pipelines.ingest.loader import load_source

    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "salt-1")
    settings = demo_ws.settings
    step = step_key(["a", "b"])
    assert step == step_key(["b", "a"]) != step_key(["a"])
    assert full_refresh_reason(settings, step, read_ledger(settings)) == "no load ledger yet"

    settings.build_db.parent.mkdir(parents=True)
    con = duckdb.connect(str(settings.build_db))
    load_source(con, demo_ws.raw, "shop", dt.datetime(2026, 11, 1))
    con.close()
    ledger = read_ledger(settings)
    assert full_refresh_reason(settings, step, ledger) == "first build"
    record_build(settings, step, ledger)
    assert full_refresh_reason(settings, step, read_ledger(settings)) is None
    assert full_refresh_reason(settings, step_key(["other"]), ledger) == "first build"

    added = {("shop/orders_export_2.csv", "ff", "loaded", "2026-11-02 00:00:00")}
    assert full_refresh_reason(settings, step, ledger | added) is None
    (replaced,) = ledger
    assert "shop/orders_export_1.csv" in full_refresh_reason(
        settings, step, {(replaced[0], "00", *replaced[2:])})
    assert "replaced or removed" in full_refresh_reason(settings, step, set())

    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "salt-2")
    assert "salt" in full_refresh_reason(settings, step, ledger)
    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "salt-1")
    monkeypatch.setattr("pipelines.incremental.code_fingerprint", lambda: "new code")
    assert "code" in full_refresh_reason(settings, step, ledger)


def add_unsubscribes(newsletter: Path, shop_export: Path, unsub_at: dt.datetime,
                     n: int = 40) -> int:
    """A new Mailchimp export (unzipped, as the README allows) of the unsubscribed: `n`
    subscribed members who are buyers, unsubscribed at `unsub_at`; returns how many."""
    import io
    import zipfile

    import polars as pl

    (archive,) = newsletter.glob("*.zip")
    with zipfile.ZipFile(archive) as z:
        name = next(m for m in z.namelist() if m.startswith("subscribed_"))
        subscribed = pl.read_csv(io.BytesIO(z.read(name)), infer_schema_length=0)
    buyers = (pl.read_csv(shop_export, infer_schema_length=0)
              .select(pl.col("Email").str.strip_chars().str.to_lowercase()).unique())
    picked = (subscribed.filter(pl.col("Email Address").str.to_lowercase()
                                .is_in(buyers["Email"].implode()))
              .sort("Email Address").head(n))
    stamp = unsub_at.strftime("%Y-%m-%d %H:%M:%S")
    picked.with_columns(
        pl.lit(stamp).alias("LAST_CHANGED"), pl.lit(stamp).alias("UNSUB_TIME"),
        pl.lit("Newsletter").alias("UNSUB_CAMPAIGN_TITLE"),
        pl.lit("c_unsub").alias("UNSUB_CAMPAIGN_ID"), pl.lit("Sonstiges").alias("UNSUB_REASON"),
    ).write_csv(newsletter / "unsubscribed_members_export_late.csv")
    return picked.height


def test_a_new_audience_export_rebuilds_the_whole_lifecycle_history(
        demo_ws: Workspace, tmp_path: Path, monkeypatch, decisions, skipped):
    """Unsubscribe times reach back: after a new audience export every snapshot is
    rebuilt (design note 19), and the result equals a full rebuild."""
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    assert run_pipeline(demo_ws, monkeypatch).success
    as_of = demo_ws.scalar("select as_of_date from audit.analysis_date")
    at_risk_before = demo_ws.scalar(
        "select count(*) from marts.customer_lifecycle_history where unsubscribed_recently")

    # unsubscribed 40 days before the analysis date: a month end in between sees them
    # as at risk; no new orders, so only the audience can reach back
    unsub_at = dt.datetime.combine(as_of - dt.timedelta(days=40), dt.time(12))
    assert add_unsubscribes(demo_ws.raw / "newsletter",
                            demo_ws.raw / "shop" / "orders_export_1.csv", unsub_at) > 10
    decisions.clear()
    assert run_pipeline(demo_ws, monkeypatch).success
    assert decisions and all(d is None for d in decisions), decisions
    # only the audience came: its staging table is rebuilt, the CRM's and the shop's and
    # the campaign activity's are not (note 25)
    assert skipped[-2:] == [[*SEEDS, "stg_crm__companies", "stg_crm__contacts", "stg_crm__deals",
                             "stg_crm__feedback", "stg_crm__tickets", "stg_newsletter__activity",
                             "stg_shop__order_lines", "stg_shop__orders"], []]
    build = connect_working(demo_ws.settings.build_db, read_only=True)
    try:
        rebuilt, snapshots = build.execute("""
            select count(distinct snapshot_date) filter (
                       where built_at = (select max(built_at)
                                         from marts.customer_lifecycle_history)),
                   count(distinct snapshot_date)
            from marts.customer_lifecycle_history""").fetchone()
    finally:
        build.close()
    assert rebuilt == snapshots
    assert demo_ws.scalar("select count(*) from marts.customer_lifecycle_history "
                          "where unsubscribed_recently") > at_risk_before

    full = Workspace(tmp_path / "full")
    shutil.copytree(demo_ws.raw, full.raw)
    assert run_pipeline(full, monkeypatch).success
    assert _differences(demo_ws.settings.warehouse, full.settings.warehouse) == {}


def _dbt_test(settings: Settings, target: Path, *tests: str) -> dict[str, tuple[str, int]]:
    """`dbt test --select <tests>` against `settings.build_db`: status and failures."""
    import json
    import os
    import subprocess

    from pipelines.dbt import dbt_project
    from pipelines.docs import dbt_executable

    env = {**os.environ, **settings.dbt_env()}
    subprocess.run([dbt_executable(), "test", "--profiles-dir", ".", "--target-path", str(target),
                    "--select", *tests], cwd=dbt_project.project_dir, env=env,
                   capture_output=True, text=True)
    results = json.loads((target / "run_results.json").read_text())["results"]
    return {r["unique_id"].split(".")[2]: (r["status"], r["failures"]) for r in results}


def test_incremental_models_are_tested_on_their_newest_build(
        built_demo: Workspace, tmp_path: Path, monkeypatch):
    """dbt tests read an incremental model's newest build only (design note 20): a row an
    earlier build wrote is not read again, a bad row of the newest build fails the test,
    and a model that is rebuilt whole is tested whole. The key test (`primary_key`,
    design note 30) fails for a key held twice and for a row without a key."""
    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "test-salt")
    db = copy_working(built_demo.settings.build_db, tmp_path / "build.duckdb")
    settings = dataclasses.replace(built_demo.settings, build_db=db)
    con = connect_working(db)
    try:
        # a duplicate order as an earlier build would have left it (a real run cannot:
        # delete + insert by order_id removes the order's older rows first)
        con.execute("""insert into marts.fct_orders select * replace
                       (built_at - interval 1 day as built_at) from marts.fct_orders limit 1""")
        con.execute("insert into marts.dim_customers select * from marts.dim_customers limit 1")
    finally:
        con.close()
    tests = ("primary_key_fct_orders_order_id", "primary_key_dim_customers_customer_id")
    assert _dbt_test(settings, tmp_path / "t1", *tests) == {
        "primary_key_fct_orders_order_id": ("pass", 0),
        "primary_key_dim_customers_customer_id": ("fail", 1),
    }
    con = connect_working(db)
    try:  # the same order twice in the newest build
        con.execute("""insert into marts.fct_orders select * from marts.fct_orders
                       where built_at = (select max(built_at) from marts.fct_orders) limit 1""")
    finally:
        con.close()
    key_test = "primary_key_fct_orders_order_id"
    assert _dbt_test(settings, tmp_path / "t2", *tests)[key_test] == ("fail", 1)
    con = connect_working(db)
    try:  # an order without its key in the newest build: the key test fails for it too
        con.execute("""insert into marts.fct_orders select * replace (null as order_id)
                       from marts.fct_orders
                       where built_at = (select max(built_at) from marts.fct_orders) limit 1""")
    finally:
        con.close()
    assert _dbt_test(settings, tmp_path / "t3", *tests)[key_test] == ("fail", 2)
