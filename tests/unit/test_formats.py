"""Format detection: encodings, delimiters, header → profile."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.formats.dialect import detect_dialect, detect_encoding, to_utf8
from pipelines.formats.profiles import (
    HUBSPOT_CONTACTS,
    best_profile,
    member_status_from_name,
    normalise_label,
)

GERMAN = "E-Mail;Datum;NPS;Kommentar\r\nanna@web.de;31.12.2024;9;Schön „gut“ – 12 €\r\n"


@pytest.mark.parametrize(
    ("encoding", "bom", "expected"),
    [
        ("cp1252", b"", "cp1252"),
        ("utf-8", b"", "utf-8"),
        ("utf-8", b"\xef\xbb\xbf", "utf-8-sig"),
        ("utf-16-le", b"\xff\xfe", "utf-16"),
    ],
)
def test_encoding_is_detected_and_transcoded(tmp_path: Path, encoding, bom, expected):
    path = tmp_path / "f.csv"
    path.write_bytes(bom + GERMAN.encode(encoding))
    assert detect_encoding(path) == expected
    utf8 = to_utf8(path, expected, tmp_path)
    text = utf8.read_text(encoding="utf-8")
    assert text.startswith("E-Mail;Datum")  # BOM removed
    assert "„gut“ – 12 €" in text


def test_latin1_fallback_when_not_cp1252(tmp_path: Path):
    path = tmp_path / "f.csv"
    path.write_bytes(b"Email,Name\nx@y.de,Gr\xfc\x81e\n")  # 0x81 is undefined in cp1252
    assert detect_encoding(path) == "latin-1"


def test_delimiter_is_the_one_that_yields_known_labels(tmp_path: Path):
    path = tmp_path / "f.csv"
    path.write_text(GERMAN, encoding="utf-8")
    known = {"email", "datum", "nps", "kommentar"}
    dialect = detect_dialect(path, "utf-8", known)
    assert dialect.delimiter == ";"
    assert dialect.header == ["E-Mail", "Datum", "NPS", "Kommentar"]


def test_labels_compare_without_case_and_punctuation():
    assert normalise_label("\ufeffE-Mail") == normalise_label("email") == "email"
    assert normalise_label("Country/Region") == "countryregion"
    assert normalise_label("Priorität") == "prioritat"


def test_profiles_are_told_apart_by_header():
    contacts, mapping = best_profile("crm", ["Record ID", "First Name", "Email", "Lifecycle Stage"])
    assert contacts is HUBSPOT_CONTACTS
    assert mapping["email"] == 2
    german, _ = best_profile("crm", ["Datensatz-ID", "Vorname", "Nachname", "E-Mail"])
    assert german is HUBSPOT_CONTACTS
    assert best_profile("crm", ["Record ID", "Deal Name", "Amount"])[0].entity == "deals"
    assert best_profile("crm", ["Record ID", "Ticket name", "Priority"])[0].entity == "tickets"
    assert best_profile("crm", ["E-Mail", "Datum", "NPS", "Kommentar"])[0].entity == "feedback"
    assert best_profile("shop", ["Name", "Email", "Total", "Created at"])[0].entity == "orders"
    assert best_profile("shop", ["Foo", "Bar"]) == (None, {})


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("members_export_1.zip!subscribed_members_export_1.csv", "subscribed"),
        ("x.zip!unsubscribed_members_export_1.csv", "unsubscribed"),
        ("x.zip!cleaned_members_export_1.csv", "cleaned"),
        ("newsletter/nonsubscribed_members_export.csv", "nonsubscribed"),
    ],
)
def test_member_status_comes_from_the_file_name(name, status):
    assert member_status_from_name(name) == status
