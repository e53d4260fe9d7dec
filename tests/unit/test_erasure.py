"""Erasure requests: the person's records leave the exports byte-exactly, the register
keeps no address and filters later files, derived files are deleted for a rebuild."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import duckdb
import pytest

from pipelines.erasure import Linked, Matcher, Register, address_pattern, erase, scrub_text_file
from pipelines.errors import ConfigError
from pipelines.ingest.loader import load_source
from pipelines.settings import Settings

T0 = dt.datetime(2026, 10, 1, 12, 0, 0)
ANNA = "anna.schmidt@web.de"


def settings_for(home: Path) -> Settings:
    return Settings(home=home, raw_dir=home / "data" / "raw",
                    warehouse=home / "data" / "warehouse" / "kundenorbit.duckdb",
                    build_db=home / "data" / "warehouse" / ".build" / "build.duckdb", as_of=None)


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    return path


# German Excel dialect: Windows-1252, `;`, CRLF, Excel's sep= line, a comment spanning
# two lines, the address typed with capitals and spaces, a look-alike address that stays
FEEDBACK = (
    "sep=;\r\n"
    "E-Mail;Datum;Bewertung;Kommentar\r\n"
    "  Anna.Schmidt@WEB.de ;31.12.2024;4;\"Lieferung spät,\r\nsehr ärgerlich\"\r\n"
    "johanna.schmidt@web.de;02.01.2025;9;Alles gut\r\n"
    "anna.schmidt@web.de.example.org;03.01.2025;8;Größe passt\r\n"
    "bernd@gmx.de;04.01.2025;10;\"Schreibt an anna.schmidt@web.de, sie hat's empfohlen\"\r\n"
)


def test_german_excel_export_loses_only_the_persons_records_bytes_kept(tmp_path: Path):
    src = write(tmp_path / "kundenfeedback.csv", FEEDBACK, "cp1252")
    dst = tmp_path / "clean.csv"
    dropped = scrub_text_file(src, dst, "crm", Matcher([ANNA]), Linked())
    # her feedback, and the record that names her in its comment
    assert dropped == 2
    kept = FEEDBACK.split("\r\n")
    expected = "\r\n".join([kept[0], kept[1], kept[4], kept[5]]) + "\r\n"
    assert dst.read_bytes() == expected.encode("cp1252")  # encoding, CRLF, quoting as before


def test_token_match_does_not_take_look_alike_addresses():
    pattern = address_pattern(["ann@x.de"])
    assert pattern.search("a;ANN@x.de ;b")
    for other in ("joann@x.de", "ann@x.de.evil.org", "ann@x.dex", "xann@x.de", "ann@x.de-shop.de"):
        assert not pattern.search(f"a;{other};b"), other


SHOP = ("\ufeffName,Email,Financial Status,Total,Created at,Lineitem quantity,Lineitem name\n"
        "#1001,anna.schmidt@web.de,paid,24.90,2026-01-05 10:00:00 +0100,1,Tee\n"
        "#1001,,,,,2,Kaffee\n"
        "#1002,bernd@gmx.de,paid,50.00,2026-02-01 09:00:00 +0100,1,Mühle\n"
        "#1002,,,,,1,Filter\n"
        "#1003,anna.schmidt@web.de,paid,9.90,2026-03-01 09:00:00 +0100,1,Tasse\n")


def test_shopify_continuation_rows_of_her_orders_go_too(tmp_path: Path):
    src = write(tmp_path / "orders_export_1.csv", SHOP)
    dst = tmp_path / "clean.csv"
    assert scrub_text_file(src, dst, "shop", Matcher([ANNA]), Linked()) == 3
    lines = SHOP.splitlines(keepends=True)
    assert dst.read_text(encoding="utf-8") == "".join(lines[0:1] + lines[3:5])
    assert dst.read_bytes().startswith(b"\xef\xbb\xbf")  # the BOM stays


def test_tickets_of_her_crm_contact_go_by_record_id(tmp_path: Path):
    contacts = write(tmp_path / "contacts.csv", "Record ID,First Name,Last Name,Email\n"
                     "134,Anna,Schmidt,anna.schmidt@web.de\n501,Bernd,Bauer,bernd@gmx.de\n")
    tickets = write(tmp_path / "tickets.csv", "Record ID,Ticket name,Create date,"
                    "Associated Contact IDs\n"
                    "7001,Paket fehlt,2024-05-30 11:32,134\n"
                    "7002,Rechnung,2024-06-01 10:00,501\n"
                    "7003,Rückruf,2024-06-02 10:00,501;134\n"
                    "7004,Frage,2024-06-03 10:00,1345\n")
    linked = Linked()
    pattern = Matcher([ANNA])
    assert scrub_text_file(contacts, tmp_path / "c.csv", "crm", pattern, linked) == 1
    assert linked.contact_ids == {"134"}
    assert scrub_text_file(tickets, tmp_path / "t.csv", "crm", pattern, linked,
                           mentions=False) == 2
    assert [x.split(",")[0] for x in (tmp_path / "t.csv").read_text().splitlines()] == [
        "Record ID", "7002", "7004"]


def test_erase_rewrites_exports_registers_hashes_and_deletes_derived_files(tmp_path: Path):
    home = tmp_path / "home"
    s = settings_for(home)
    write(s.raw_dir / "shop" / "orders_export_1.csv", SHOP)
    write(s.raw_dir / "crm" / "kundenfeedback.csv", FEEDBACK, "cp1252")
    members = s.raw_dir / "newsletter" / "members_export.zip"
    members.parent.mkdir(parents=True)
    unsub = "Email Address,First Name,UNSUB_TIME\ncarla@posteo.de,Carla,2025-01-01 10:00:00\n"
    with zipfile.ZipFile(members, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("subscribed_members_export_1.csv", "Email Address,First Name\n"
                    "ANNA.SCHMIDT@web.de,Anna\ncarl@posteo.de,Carl\n")
        zf.writestr("unsubscribed_members_export_1.csv", unsub)
    untouched = write(s.raw_dir / "crm" / "hubspot-crm-exports-companies-1.csv",
                      "Record ID,Company name\n9,Feldmark GmbH\n")
    before = untouched.stat().st_mtime_ns
    for path in (s.warehouse, s.build_db, s.build_db.with_name("build.duckdb.wal"),
                 s.analysts_db, s.analysts_db.with_name("analysts.duckdb.wal"),
                 s.exports_dir / "win_back.csv"):
        write(path, "old")

    result = erase(s, [" Anna.Schmidt@web.de"])

    assert result.new_in_register == 1
    assert result.records_dropped == {
        "shop/orders_export_1.csv": 3, "crm/kundenfeedback.csv": 2,
        "newsletter/members_export.zip!subscribed_members_export_1.csv": 1}
    for path in s.raw_dir.rglob("*.csv"):
        assert not address_pattern([ANNA]).search(path.read_text(encoding="cp1252")), path
    with zipfile.ZipFile(members) as zf:
        assert zf.read("subscribed_members_export_1.csv") == (
            b"Email Address,First Name\ncarl@posteo.de,Carl\n")
        assert zf.read("unsubscribed_members_export_1.csv") == unsub.encode()
    assert untouched.stat().st_mtime_ns == before  # files that do not name her stay as they were
    for path in (s.warehouse, s.build_db, s.build_db.with_name("build.duckdb.wal"),
                 s.analysts_db, s.analysts_db.with_name("analysts.duckdb.wal"),
                 s.exports_dir / "win_back.csv"):
        assert not path.exists(), path
    text = s.erasure_register.read_text()
    assert "anna" not in text.lower() and "web.de" not in text
    register = Register.load(s.erasure_register)
    assert len(register.hashes("email")) == 1
    # the same request again: nothing new, nothing else changes
    assert erase(s, ["anna.schmidt@web.de"]).new_in_register == 0
    assert len(json.loads(s.erasure_register.read_text())["entries"]) == 1


def test_erase_refuses_what_is_not_an_address_and_changes_nothing(tmp_path: Path):
    s = settings_for(tmp_path / "home")
    write(s.warehouse, "old")
    with pytest.raises(ConfigError, match="not an e-mail address: 'Anna Schmidt'"):
        erase(s, ["anna.schmidt@web.de", "Anna Schmidt"])
    assert s.warehouse.exists() and not s.erasure_register.exists()


def test_loader_leaves_out_registered_people_and_accounts_for_every_row(tmp_path: Path):
    """A file exported again later (or never cleaned) still holds her: her rows are
    neither loaded nor quarantined (not even the one with a broken date), only counted."""
    s = settings_for(tmp_path / "home")
    register = Register.load(s.erasure_register)
    register.add("email", "anna.schmidt@web.de", "2026-12-01T00:00:00Z")
    register.add("crm_contact", "134", "2026-12-01T00:00:00Z")
    register.save()
    write(s.raw_dir / "shop" / "orders_export_1.csv", SHOP + (
        "#1004,anna.schmidt@web.de,paid,5.00,31.02.2026,1,Löffel\n"
        "#1005,carl@posteo.de,paid,5.00,31.02.2026,1,Löffel\n"
        "#1006,Anna.Schmidt@web.de,paid,5.00,2026-03-01,1,Löffel,ragged,record\n"))
    write(s.raw_dir / "crm" / "tickets.csv", "Record ID,Ticket name,Create date,"
          "Associated Contact IDs\n7001,Paket fehlt,2024-05-30 11:32,134\n"
          "7002,Rechnung,2024-06-01 10:00,501\n")
    con = duckdb.connect()
    try:
        for source in ("shop", "crm"):
            load_source(con, s.raw_dir, source, T0, s.erasure_register)
        ledger = dict((r[0], r[1:]) for r in con.execute(
            """select source_file, rows_read, rows_loaded, rows_rejected, rows_erased
            from raw.load_ledger""").fetchall())
        # a broken date and a ragged record of hers are erased, not quarantined
        assert ledger["shop/orders_export_1.csv"] == (8, 2, 1, 5)
        assert ledger["crm/tickets.csv"] == (2, 1, 0, 1)
        assert con.execute("select list(distinct order_name order by order_name) "
                           "from raw.shop__orders").fetchone()[0] == ["#1002"]
        assert con.execute("select list(source_line) from raw.rejected_rows").fetchone()[0] == [8]
        assert con.execute("select count(*) from raw.rejected_rows "
                           "where raw_text ilike '%anna%'").fetchone()[0] == 0
        assert con.execute("select _source_line from raw.shop__orders "
                           "where lineitem_name = 'Filter'").fetchone()[0] == 5
        # without a register the same files load as before
        con.execute("drop schema raw cascade")
        load_source(con, s.raw_dir, "shop", T0)
        assert con.execute("select count(*) from raw.shop__orders").fetchone()[0] == 5
    finally:
        con.close()


@pytest.mark.parametrize("block", [37, 1 << 23])
def test_blocks_of_any_size_give_the_same_file(tmp_path: Path, monkeypatch, block: int):
    """Large exports are copied block by block; a block boundary inside a quoted field
    or between an order's line items changes nothing."""
    import pipelines.erasure as erasure

    monkeypatch.setattr(erasure, "BLOCK", block)
    lines = ["Name,Email,Total,Created at,Lineitem quantity,Lineitem name\r\n"]
    kept = list(lines)
    for i in range(120):
        email = ANNA if i in (7, 64, 119) else f"kunde{i}@web.de"
        order = [f"#{1000 + i},{email},9.90,2026-01-05 10:00:00 +0100,1,\"Tee\r\n\"\"grün\"\"\"\r\n",
                 f"#{1000 + i},,,,2,Kaffee\r\n", f"#{1000 + i},,,,1,\"Filter, 100 St.\"\r\n"]
        lines += order
        if email != ANNA:
            kept += order
    src = write(tmp_path / "orders_export_1.csv", "".join(lines))
    dst = tmp_path / "clean.csv"
    assert scrub_text_file(src, dst, "shop", Matcher([ANNA]), Linked()) == 9
    assert dst.read_bytes() == "".join(kept).encode()


def test_a_stray_quote_does_not_take_other_peoples_records_along(tmp_path: Path):
    text = ("Email,Datum,Bewertung,Kommentar\n"
            'carl@posteo.de,2025-01-01,9,"Zoll 5"" Bildschirm\n'  # the quote never closes
            "dora@web.de,2025-01-02,8,ok\n"
            "anna.schmidt@web.de,2025-01-03,3,schlecht\n"
            "emil@gmx.de,2025-01-04,10,super\n")
    src = write(tmp_path / "kundenfeedback.csv", text)
    dst = tmp_path / "clean.csv"
    assert scrub_text_file(src, dst, "crm", Matcher([ANNA]), Linked()) == 1
    assert dst.read_text() == text.replace("anna.schmidt@web.de,2025-01-03,3,schlecht\n", "")
