"""The loader: nothing lost, nothing doubled, clear refusals."""

from __future__ import annotations

import datetime as dt
import os
import zipfile
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.loader import load_source

T0 = dt.datetime(2026, 10, 1, 12, 0, 0)
T1 = dt.datetime(2026, 10, 2, 12, 0, 0)

SHOP_HEADER = ("Name,Email,Financial Status,Currency,Subtotal,Shipping,Taxes,Total,"
               "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem sku,"
               "Cancelled at,Refunded Amount")


def shop_file(raw: Path, name: str, rows: list[str]) -> Path:
    path = raw / "shop" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join([SHOP_HEADER, *rows]) + "\n", encoding="utf-8")
    return path


GOOD = [
    "#1001,anna@web.de,paid,EUR,20.00,4.90,3.98,24.90,2026-01-05 10:00:00 +0100,1,Tee,20.00,TEE-1,,0.00",
    "#1001,anna@web.de,,,,,,,,2,Kaffee,5.00,KAF-1,,",
    "#1002,bernd@gmx.de,refunded,EUR,50.00,0.00,7.98,50.00,2026-02-01 09:00:00 +0100,1,Mühle,50.00,ZUB-3,,50.00",  # noqa: E501
]


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def ledger(con, name):
    return con.execute(
        """select status, rows_read, rows_loaded, rows_rejected, message
        from raw.load_ledger where source_file = ?""", [name]).fetchone()


def test_good_file_loads_every_row_with_its_line(con, tmp_path: Path):
    shop_file(tmp_path, "orders_export_1.csv", GOOD)
    load_source(con, tmp_path, "shop", T0)
    assert ledger(con, "shop/orders_export_1.csv")[:4] == ("loaded", 3, 3, 0)
    rows = con.execute(
        "select order_name, total, lineitem_quantity, created_at, _source_line "
        "from raw.shop__orders order by _source_line").fetchall()
    assert rows[0] == ("#1001", Decimal("24.90"), 1, dt.datetime(2026, 1, 5, 9, 0), 2)
    assert rows[1][1] is None and rows[1][2] == 2 and rows[1][4] == 3
    assert rows[2][4] == 4


def test_zoned_times_are_the_same_instant_in_every_spelling(con, tmp_path: Path):
    """Most values carry an offset (the column's usual format, read first as it stands);
    Z and UTC spellings and other formats still read as the same instant (UTC)."""
    spelled = ["2026-01-05 10:00:00 +0100", "2026-01-05 09:00:00 UTC", "2026-01-05 09:00:00 Z",
               "2026-01-05T09:00:00Z", "2026-01-05T11:00:00+0200", "2026-01-05 04:00:00 -0500",
               "2026-01-05 09:00 +0000", "2026-01-05 09:00:00+0000"]
    usual = [f"#{2000 + i},u{i}@web.de,paid,EUR,1,0,0,1,2026-01-0{1 + i % 4} 12:00:00 +0100,1,X,1,S,,0"
             for i in range(20)]
    rows = [f"#{1000 + i},t{i}@web.de,paid,EUR,1,0,0,1,{value},1,X,1,S,,0"
            for i, value in enumerate(spelled)]
    shop_file(tmp_path, "orders_export_1.csv", usual + rows)
    load_source(con, tmp_path, "shop", T0)
    assert con.execute("select count(*) from raw.rejected_rows").fetchone()[0] == 0
    read = con.execute("select created_at from raw.shop__orders where order_name < '#2000' "
                       "order by _source_line").fetchall()
    assert read == [(dt.datetime(2026, 1, 5, 9, 0),)] * len(spelled)


def test_bad_rows_are_rejected_with_line_column_and_reason(con, tmp_path: Path):
    shop_file(tmp_path, "orders_export_1.csv", [
        GOOD[0],
        "#1003,c@d.de,paid,EUR,abc,0,0,10.00,2026-01-05 10:00:00 +0100,1,X,10,S,,0",  # bad number
        "#1004,e@f.de,paid,EUR,10,0,0,10.00,2026-13-45 10:00:00,1,X,10,S,,0",  # bad date
        "#1005,too,few,fields",
        ',g@h.de,paid,EUR,10,0,0,10.00,2026-01-05 10:00:00 +0100,1,X,10,S,,0',  # no Name
        GOOD[2],
    ])
    load_source(con, tmp_path, "shop", T0)
    status, read, loaded, rejected, _ = ledger(con, "shop/orders_export_1.csv")
    assert (status, read, loaded, rejected) == ("loaded", 6, 2, 4)
    rejects = con.execute(
        "select source_line, column_name, reason from raw.rejected_rows order by 1").fetchall()
    assert [r[0] for r in rejects] == [3, 4, 5, 6]
    assert rejects[0][1] == "Subtotal" and "expected a number" in rejects[0][2]
    assert "'abc'" in rejects[0][2]
    assert rejects[1][1] == "Created at" and "expected a date" in rejects[1][2]
    assert "too few fields" in rejects[2][2]
    assert rejects[3][1] == "Name" and "empty but required" in rejects[3][2]
    assert con.execute("select count(*) from raw.shop__orders").fetchone()[0] == 2
    # the loader turns DuckDB's filter pushdown off for its typed insert only
    assert con.execute("select current_setting('disabled_optimizers')").fetchone()[0] == ""


def test_same_file_twice_changes_nothing(con, tmp_path: Path):
    shop_file(tmp_path, "orders_export_1.csv", GOOD)
    load_source(con, tmp_path, "shop", T0)
    second = load_source(con, tmp_path, "shop", T1)
    assert [f.status for f in second.files] == ["unchanged"]
    assert con.execute("select count(*), max(_loaded_at) from raw.shop__orders").fetchone() == (
        3, T0)


def test_changed_file_replaces_its_rows(con, tmp_path: Path):
    shop_file(tmp_path, "orders_export_1.csv", GOOD)
    load_source(con, tmp_path, "shop", T0)
    shop_file(tmp_path, "orders_export_1.csv", GOOD[:2])
    load_source(con, tmp_path, "shop", T1)
    assert con.execute("select count(*) from raw.shop__orders").fetchone()[0] == 2
    assert ledger(con, "shop/orders_export_1.csv")[:4] == ("loaded", 2, 2, 0)


def _hashes(monkeypatch) -> list[str]:
    """Record which files the loader hashes."""
    import pipelines.ingest.loader as loader

    seen: list[str] = []
    real = loader.sha256_of

    def counting(path: Path) -> str:
        seen.append(path.name)
        return real(path)

    monkeypatch.setattr(loader, "sha256_of", counting)
    return seen


def test_file_with_the_ledgers_size_and_time_is_not_read_again(con, tmp_path, monkeypatch):
    path = shop_file(tmp_path, "orders_export_1.csv", GOOD)
    os.utime(path, ns=(1_700_000_000 * 10**9, 1_700_000_000 * 10**9))  # an old export
    size = path.stat().st_size
    hashed = _hashes(monkeypatch)
    load_source(con, tmp_path, "shop", T0)
    assert hashed == ["orders_export_1.csv"]
    assert load_source(con, tmp_path, "shop", T1).files[0].status == "unchanged"
    assert hashed == ["orders_export_1.csv"]  # skipped by size and time, not hashed
    # the same size, other content, another time: read again
    changed = [GOOD[0].replace("20.00,4.90", "21.00,3.90"), *GOOD[1:]]
    shop_file(tmp_path, "orders_export_1.csv", changed)
    os.utime(path, ns=(1_700_000_100 * 10**9, 1_700_000_100 * 10**9))
    assert path.stat().st_size == size
    assert load_source(con, tmp_path, "shop", T1).files[0].status == "loaded"
    assert con.execute("select subtotal from raw.shop__orders where subtotal is not null "
                       "order by _source_line limit 1").fetchone()[0] == Decimal("21.00")
    # `touch`: a new time, the same content → hashed, unchanged, the new time remembered
    os.utime(path, ns=(1_700_000_200 * 10**9, 1_700_000_200 * 10**9))
    assert load_source(con, tmp_path, "shop", T1).files[0].status == "unchanged"
    assert load_source(con, tmp_path, "shop", T1).files[0].status == "unchanged"
    assert hashed == ["orders_export_1.csv"] * 3


def test_a_just_written_file_is_hashed_on_every_run(con, tmp_path, monkeypatch):
    """A modification time within two seconds of the check is not trusted: a rewrite in
    the same clock tick could keep it (the 'racy git' rule)."""
    shop_file(tmp_path, "orders_export_1.csv", GOOD)
    hashed = _hashes(monkeypatch)
    load_source(con, tmp_path, "shop", T0)
    assert con.execute("select mtime_ns from raw.load_ledger").fetchone()[0] is None
    shop_file(tmp_path, "orders_export_1.csv", [GOOD[0].replace("#1001", "#1009"), *GOOD[1:]])
    load_source(con, tmp_path, "shop", T1)
    assert hashed == ["orders_export_1.csv"] * 2
    assert con.execute("select count(*) from raw.shop__orders where order_name = '#1009'"
                       ).fetchone()[0] == 1


def test_identical_copy_under_another_name_is_not_loaded_twice(con, tmp_path: Path):
    shop_file(tmp_path, "orders_export_1.csv", GOOD)
    shop_file(tmp_path, "orders_export_1 (1).csv", GOOD)
    load_source(con, tmp_path, "shop", T0)
    assert con.execute("select count(*) from raw.shop__orders").fetchone()[0] == 3
    rows = [ledger(con, n) for n in ("shop/orders_export_1.csv", "shop/orders_export_1 (1).csv")]
    assert sorted(r[0] for r in rows) == ["duplicate", "loaded"]
    assert any("identical to shop/orders_export_1" in r[4] for r in rows)


def test_german_excel_dialect(con, tmp_path: Path):
    path = tmp_path / "crm" / "deals.csv"
    path.parent.mkdir(parents=True)
    text = ("Record ID;Deal Name;Amount;Close Date;Deal Stage\r\n"
            "1;Müller GmbH – Rahmenvertrag;1.234,56;31.12.2024;Closed Won\r\n"
            "2;Groß & Söhne;12.500,00;01.02.2025;Contract Sent\r\n")
    path.write_bytes(text.encode("cp1252"))
    load_source(con, tmp_path, "crm", T0)
    rows = con.execute(
        "select deal_name, amount, close_date from raw.crm__deals order by record_id").fetchall()
    assert rows[0] == ("Müller GmbH – Rahmenvertrag", Decimal("1234.56"),
                       dt.datetime(2024, 12, 31))
    assert float(rows[1][1]) == 12500.00
    led = con.execute("select encoding, delimiter, number_format from raw.load_ledger").fetchone()
    assert led == ("cp1252", ";", "de")


# the number rule of _typed, value by value: plain values take the one-regex path, the
# others the full rule (currency signs, spaces, thousands separators, exponents); a value
# in the other format is rejected, never read with the separators swapped
EN_NUMBERS = [("24.90", "24.90"), ("5", "5.00"), ("12", "12.00"), ("1,234.50", "1234.50"),
              ("1,234,567.10", "1234567.10"), ("€ 7.50", "7.50"), ("7.50 EUR", "7.50"),
              ("1.5e2", "150.00"), ("+12", None), (".5", None), ("24,90", None),
              ("1.234,56", None), ("12.", None), ("1,23", None), ("abc", None)]
DE_NUMBERS = [("24,90", "24.90"), ("5", "5.00"), ("12", "12.00"), ("1.234,56", "1234.56"),
              ("12.500,00", "12500.00"), ("7,50 €", "7.50"), ("+12", None), (",5", None),
              ("24.90", None), ("1,234.50", None), ("12,", None), ("1.23", None)]


@pytest.mark.parametrize(("fmt", "cases"), [("en", EN_NUMBERS), ("de", DE_NUMBERS)])
def test_numbers_are_read_in_the_files_format_only(con, tmp_path: Path, fmt, cases):
    sep, ok = (",", "1,234.50") if fmt == "en" else (";", "1.234,56")
    path = tmp_path / "crm" / "deals.csv"
    path.parent.mkdir(parents=True)
    # a majority of unambiguous values decides the file's format (_number_format)
    lines = [f"{i}{sep}Deal {i}{sep}{ok}{sep}2024-12-31{sep}Closed Won"
             for i in range(100, 130)]
    lines += [f"{i}{sep}Deal {i}{sep}\"{value}\"{sep}2024-12-31{sep}Closed Won"
              for i, (value, _) in enumerate(cases)]
    path.write_text(sep.join(["Record ID", "Deal Name", "Amount", "Close Date", "Deal Stage"])
                    + "\n" + "\n".join(lines) + "\n", encoding="utf-8")
    load_source(con, tmp_path, "crm", T0)
    assert con.execute("select number_format from raw.load_ledger").fetchone()[0] == fmt
    loaded = dict(con.execute("select cast(record_id as integer), amount from raw.crm__deals "
                              "where cast(record_id as integer) < 100").fetchall())
    rejected = {line - 32 for (line,) in con.execute(
        "select source_line from raw.rejected_rows where column_name = 'Amount'").fetchall()}
    for i, (value, expected) in enumerate(cases):
        if expected is None:
            assert i not in loaded and i in rejected, value
        else:
            assert loaded.get(i) == Decimal(expected), value


def test_utf16_excel_unicode_text_loads(con, tmp_path: Path):
    path = tmp_path / "crm" / "feedback.txt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\xff\xfe" + "Email\tNPS\tComment\nx@y.de\t10\tPrima\n".encode("utf-16-le"))
    load_source(con, tmp_path, "crm", T0)
    assert con.execute("select email, nps, comment from raw.crm__feedback").fetchall() == [
        ("x@y.de", 10, "Prima")]


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"PK\x03\x04garbage", "not a text/CSV file"),
        (b"Foo,Bar\n1,2\n", "not a recognised shop export: the header lacks `Name`"),
    ],
)
def test_unreadable_files_are_refused_with_a_message(con, tmp_path: Path, content, expected):
    path = tmp_path / "shop" / "orders.csv"
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    result = load_source(con, tmp_path, "shop", T0)
    (f,) = result.refused
    assert f.message.startswith("shop/orders.csv: ")
    assert expected in f.message
    assert ledger(con, "shop/orders.csv")[0] == "refused"


def test_mailchimp_zip_members_get_their_status(con, tmp_path: Path):
    head = "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,LEID\n"
    zpath = tmp_path / "newsletter" / "members_export_ab12.zip"
    zpath.parent.mkdir(parents=True)
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("subscribed_members_export_ab12.csv", head + "a@b.de,A,B,3,2025-01-01 10:00:00,1\n")
        zf.writestr("unsubscribed_members_export_ab12.csv",
                    head.strip() + ",UNSUB_TIME\nc@d.de,C,D,1,2025-01-01 10:00:00,2,2025-06-01 08:00:00\n")
        zf.writestr("readme.pdf", b"%PDF")
    load_source(con, tmp_path, "newsletter", T0)
    rows = con.execute(
        "select email, member_status, unsub_at from raw.newsletter__members order by email"
    ).fetchall()
    assert rows == [("a@b.de", "subscribed", None),
                    ("c@d.de", "unsubscribed", dt.datetime(2025, 6, 1, 8, 0))]
    statuses = dict(con.execute("select source_file, status from raw.load_ledger").fetchall())
    assert statuses["newsletter/members_export_ab12.zip!readme.pdf"] == "ignored"


def test_zip_with_the_size_and_time_its_members_were_read_from_is_not_opened_again(
        con, tmp_path, monkeypatch):
    head = "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,LEID\n"
    zpath = tmp_path / "newsletter" / "members_export_ab12.zip"
    zpath.parent.mkdir(parents=True)

    def write(rows: str, at_s: int) -> None:
        with zipfile.ZipFile(zpath, "w") as zf:
            zf.writestr("subscribed_members_export_ab12.csv", head + rows)
            zf.writestr("readme.pdf", b"%PDF")
        os.utime(zpath, ns=(at_s * 10**9, at_s * 10**9))  # an old export

    write("a@b.de,A,B,3,2025-01-01 10:00:00,1\n", 1_700_000_000)
    hashed = _hashes(monkeypatch)
    load_source(con, tmp_path, "newsletter", T0)
    assert len(hashed) == 1  # the CSV member (the PDF is ignored unread)
    again = load_source(con, tmp_path, "newsletter", T1)
    assert {f.source_file: f.status for f in again.files} == {
        "newsletter/members_export_ab12.zip!readme.pdf": "unchanged",
        "newsletter/members_export_ab12.zip!subscribed_members_export_ab12.csv": "unchanged"}
    assert len(hashed) == 1  # not extracted, not hashed
    assert con.execute("select count(*) from raw.newsletter__members").fetchone()[0] == 1
    # a new download (another time): opened, its members read again, the old rows replaced
    write("a@b.de,A,B,3,2025-01-01 10:00:00,1\nc@d.de,C,D,2,2025-02-01 10:00:00,2\n",
          1_700_000_100)
    third = load_source(con, tmp_path, "newsletter", T1)
    assert [f.status for f in third.files if f.source_file.endswith(".csv")] == ["loaded"]
    assert con.execute("select count(*) from raw.newsletter__members").fetchone()[0] == 2
    # a member refused last time: the archive is opened again on every run
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("subscribed_members_export_ab12.csv", "Foo,Bar\n1,2\n")
    os.utime(zpath, ns=(1_700_000_200 * 10**9, 1_700_000_200 * 10**9))
    assert [f.status for f in load_source(con, tmp_path, "newsletter", T1).files] == [
        "refused", "removed"]  # the refused member, the PDF no longer in the archive
    assert [f.status for f in load_source(con, tmp_path, "newsletter", T1).files] == ["refused"]
    assert len(hashed) == 4


def test_truncated_zip_is_refused(con, tmp_path: Path):
    zpath = tmp_path / "newsletter" / "members.zip"
    zpath.parent.mkdir(parents=True)
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("subscribed_members.csv", "Email Address\n" + "a@b.de\n" * 1000)
    zpath.write_bytes(zpath.read_bytes()[:120])
    (f,) = load_source(con, tmp_path, "newsletter", T0).refused
    assert "cannot open the ZIP archive" in f.message and "newsletter/members.zip" in f.message


def test_removed_file_takes_its_rows_with_it(con, tmp_path: Path):
    keep = shop_file(tmp_path, "orders_export_1.csv", GOOD[:2])
    gone = shop_file(tmp_path, "orders_export_2.csv", GOOD[2:])
    load_source(con, tmp_path, "shop", T0)
    assert con.execute("select count(*) from raw.shop__orders").fetchone()[0] == 3
    gone.unlink()
    result = load_source(con, tmp_path, "shop", T1)
    assert {f.source_file: f.status for f in result.files} == {
        "shop/orders_export_1.csv": "unchanged", "shop/orders_export_2.csv": "removed"}
    assert con.execute("select count(*) from raw.shop__orders").fetchone()[0] == 2
    assert ledger(con, "shop/orders_export_2.csv")[:3] == ("removed", 1, 0)
    assert keep.exists()


def test_members_of_a_damaged_zip_are_kept(con, tmp_path: Path):
    zpath = tmp_path / "newsletter" / "members.zip"
    zpath.parent.mkdir(parents=True)
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.writestr("subscribed_members.csv", "Email Address\na@b.de\n")
    load_source(con, tmp_path, "newsletter", T0)
    zpath.write_bytes(zpath.read_bytes()[:30])  # a broken re-download
    result = load_source(con, tmp_path, "newsletter", T1)
    assert [f.status for f in result.files] == ["refused"]
    assert con.execute("select count(*) from raw.newsletter__members").fetchone()[0] == 1


def test_a_ragged_record_is_quarantined_once_not_again_for_the_next_file(con, tmp_path: Path):
    """DuckDB appends to an existing rejects table; each file must see only its own."""
    shop_file(tmp_path, "orders_export_1.csv", [GOOD[0], GOOD[2] + ",one field too many"])
    shop_file(tmp_path, "orders_export_2.csv", [GOOD[0].replace("#1001", "#2001")])
    load_source(con, tmp_path, "shop", T0)
    assert ledger(con, "shop/orders_export_1.csv")[:4] == ("loaded", 2, 1, 1)
    assert ledger(con, "shop/orders_export_2.csv")[:4] == ("loaded", 1, 1, 0)
    assert con.execute("select source_file, source_line from raw.rejected_rows").fetchall() == [
        ("shop/orders_export_1.csv", 3)]
