"""An erasure request end to end: after `erase` and a rebuild the person is in no table
of either database, no export file and no audience, every other figure reconciles, and
a later export that still holds them does not bring them back."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import duckdb
import pytest

from pipelines.erasure import address_pattern, erase
from tests.conftest import Workspace, run_pipeline

pytestmark = pytest.mark.slow


def mentions(db: Path, needles: list[str]) -> list[tuple]:
    """Every (schema, table, column, needle) whose text contains a needle, in any case."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cols = con.execute("""select schema_name, table_name, column_name from duckdb_columns()
            where database_name = current_database() and data_type = 'VARCHAR'""").fetchall()
        assert len(cols) > 50  # the scan really covers the warehouse
        return [(s, t, c, n) for s, t, c in cols for n in needles if con.execute(
            f'select count(*) from "{s}"."{t}" where contains(lower("{c}"), ?)',
            [n.lower()]).fetchone()[0]]
    finally:
        con.close()


def files_naming(folder: Path, address: str) -> list[str]:
    pattern = address_pattern([address])
    found = []
    for path in folder.rglob("*"):
        if path.suffix == ".zip":
            with zipfile.ZipFile(path) as zf:
                texts = {f"{path}!{n}": zf.read(n) for n in zf.namelist()}
        elif path.is_file() and path.suffix in (".csv", ".json", ".txt"):
            texts = {str(path): path.read_bytes()}
        else:
            continue
        found += [name for name, data in texts.items()
                  if pattern.search(data.decode("latin-1"))]
    return found


def test_erasure_removes_a_person_everywhere_and_keeps_them_out(
        demo_ws: Workspace, monkeypatch, tmp_path: Path):
    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    assert run_pipeline(demo_ws, monkeypatch).success
    s = demo_ws.settings
    # a person in all three sources, with CRM tickets
    email, cid, orders, net = demo_ws.query(
        """select c.email, d.customer_id, d.orders_count, d.net_revenue_eur
        from marts.dim_customers d join pii.customer_contacts c using (customer_id)
        where d.is_in_shop and d.is_in_crm and d.is_in_newsletter and d.tickets_count > 0
          and d.orders_count > 1
        order by d.customer_id limit 1""")[0]
    before = demo_ws.query("""select (select count(*) from marts.dim_customers),
        (select count(*) from marts.fct_orders), (select sum(net_revenue_eur) from marts.fct_orders),
        (select count(*) from marts.fct_orders where customer_id = ?)""", [cid])[0]
    assert before[3] >= orders > 1
    assert mentions(s.warehouse, [email, cid])  # the scan finds her before the request
    originals = tmp_path / "raw-before"
    shutil.copytree(s.raw_dir, originals)

    result = erase(s, [f"  {email.upper()} "])

    assert result.records_dropped and not s.warehouse.exists() and not s.build_db.exists()
    assert not s.analysts_db.exists()
    assert files_naming(s.raw_dir, email) == []
    assert run_pipeline(demo_ws, monkeypatch).success
    for db in (s.warehouse, s.build_db, s.analysts_db):
        assert mentions(db, [email, cid]) == [], db
    assert files_naming(s.home / "data", email) == []  # exports, audiences, answer key
    after = demo_ws.query("""select (select count(*) from marts.dim_customers),
        (select count(*) from marts.fct_orders), (select sum(net_revenue_eur) from marts.fct_orders)""")[0]
    # exactly one person and exactly her orders and revenue are gone
    assert after == (before[0] - 1, before[1] - before[3], before[2] - net)
    # nothing lost: every row read was loaded, rejected or erased
    assert demo_ws.scalar("""select count(*) from audit.load_ledger where status = 'loaded'
        and rows_read <> rows_loaded + rows_rejected + rows_erased""") == 0

    # months later someone drops an old shop export and CRM export in again
    shutil.copy(originals / "shop" / "orders_export_1.csv", s.raw_dir / "shop" / "orders_old.csv")
    contacts = next((originals / "crm").glob("hubspot-crm-exports-contacts-*.csv"))
    tickets = next((originals / "crm").glob("hubspot-crm-exports-tickets-*.csv"))
    shutil.copy(contacts, s.raw_dir / "crm" / "contacts_old.csv")
    shutil.copy(tickets, s.raw_dir / "crm" / "tickets_old.csv")
    assert run_pipeline(demo_ws, monkeypatch).success
    assert mentions(s.warehouse, [email, cid]) == []
    erased = dict(demo_ws.query("""select source_file, rows_erased from audit.load_ledger
        where source_file in ('shop/orders_old.csv', 'crm/contacts_old.csv',
                              'crm/tickets_old.csv')"""))
    assert erased["crm/contacts_old.csv"] == 1
    assert erased["shop/orders_old.csv"] >= orders  # her line items, every order
    assert erased["crm/tickets_old.csv"] >= 1       # by her contact's Record ID
    assert demo_ws.query("""select (select count(*) from marts.dim_customers),
        (select sum(net_revenue_eur) from marts.fct_orders)""")[0] == (after[0], after[2])
