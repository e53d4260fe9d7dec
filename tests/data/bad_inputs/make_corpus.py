"""Writes the bad-input corpus (files + cases.json). Run from this folder:
`python make_corpus.py`. The files are committed; this script documents how each was made.

Each case: a file under <source>/ and what the user must see — `refused` with a
one-line message, or `loaded` with exact loaded / rejected counts and reasons.
"""

from __future__ import annotations

import io
import json
import shutil
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
SHOP = ("Name,Email,Financial Status,Paid at,Currency,Subtotal,Shipping,Taxes,Total,"
        "Discount Amount,Created at,Lineitem quantity,Lineitem name,Lineitem price,"
        "Lineitem sku,Cancelled at,Refunded Amount,Id")


def order(n: int, email: str = "anna@web.de", total: str = "24.90", created: str =
          "2025-03-01 10:00:00 +0100", qty: str = "1", name: str = "Tee") -> str:
    return (f"#{n},{email},paid,2025-03-01 10:01:00 +0100,EUR,{total},0.00,3.98,{total},0.00,"
            f"{created},{qty},{name},{total},TEE-1,,0.00,{5000 + n}")


GOOD = [order(1001), order(1002, "bernd@gmx.de", "10.00"), order(1003, "c@d.de", "5.50")]
CONTACTS = "Record ID,First Name,Last Name,Email,Lifecycle Stage,Create Date"
MEMBERS = "Email Address,First Name,Last Name,MEMBER_RATING,OPTIN_TIME,LEID"

cases: list[dict] = []


def case(name: str, source: str, filename: str, data: bytes, expect: dict, what: str) -> None:
    folder = HERE / name / source
    folder.mkdir(parents=True, exist_ok=True)
    (folder / filename).write_bytes(data)
    cases.append({"case": name, "source": source, "file": f"{source}/{filename}",
                  "what": what, **expect})


def text(lines: list[str], nl: str = "\n", enc: str = "utf-8") -> bytes:
    return (nl.join(lines) + nl).encode(enc)


def loaded(n: int, rejected: int = 0, reasons: list[str] | None = None, **extra) -> dict:
    return {"status": "loaded", "rows_loaded": n, "rows_rejected": rejected,
            "reasons": reasons or [], **extra}


def refused(message: str) -> dict:
    return {"status": "refused", "message": message}


def build() -> None:
    for p in HERE.iterdir():
        if p.is_dir():
            shutil.rmtree(p)
    S = "shop"
    case("ragged_too_many_fields", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], GOOD[1] + ",extra,fields", GOOD[2]]),
         loaded(2, 1, ["too many fields"]), "a row with more fields than the header")
    case("ragged_too_few_fields", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], "#1002,bernd@gmx.de,paid", GOOD[2]]),
         loaded(2, 1, ["too few fields"]), "a row cut short")
    case("wrong_delimiter", S, "orders_export_1.csv",
         text([SHOP.replace(",", "\t"), *(g.replace(",", "\t") for g in GOOD)]),
         loaded(3), "tab-separated instead of commas (detected)")
    case("mixed_delimiters", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], GOOD[1].replace(",", ";"), GOOD[2]]),
         loaded(2, 1, ["too few fields"]), "one row written with ; in a , file")
    case("windows_1252", "crm", "feedback.csv",
         text(["E-Mail;Datum;NPS;Kommentar", "anna@web.de;31.12.2024;9;„Prima“ – 5 € gespart"],
              "\r\n", "cp1252"),
         loaded(1, check_sql=("select comment from raw.crm__feedback",
                              [["„Prima“ – 5 € gespart"]])), "Excel's Windows-1252 with „“ and €")
    case("latin_1", "crm", "feedback.csv",
         "Email;Date;NPS;Comment\nx@y.de;2024-12-31;7;Grüße \x81 aus Köln\n".encode("latin-1"),
         loaded(1), "Latin-1 with a byte Windows-1252 does not define")
    case("utf16_unicode_text", "crm", "feedback.txt",
         b"\xff\xfe" + "Email\tNPS\tComment\nx@y.de\t10\tSüß\n".encode("utf-16-le"),
         loaded(1), "Excel 'Unicode text' (UTF-16, tabs)")
    case("utf8_bom", S, "orders_export_1.csv", b"\xef\xbb\xbf" + text([SHOP, *GOOD]),
         loaded(3), "UTF-8 with BOM before the first header")
    case("empty_file", S, "orders_export_1.csv", b"", refused("the file is empty"),
         "zero bytes")
    case("header_only", S, "orders_export_1.csv", text([SHOP]), loaded(0),
         "a header and no rows: nothing to load, not an error")
    case("missing_required_column", S, "orders_export_1.csv",
         text([SHOP.replace(",Total", ""), *(",".join(g.split(",")[:8] + g.split(",")[9:])
                                             for g in GOOD)]),
         refused("the header lacks `Total`"), "an export without the Total column")
    case("extra_columns", S, "orders_export_1.csv",
         text([SHOP + ",Internal Note,Warehouse", *(g + ",x,Lager 2" for g in GOOD)]),
         loaded(3, message="2 columns not used: Internal Note, Warehouse"),
         "schema drift: columns this product does not know")
    case("renamed_columns", S, "orders_export_1.csv",
         text([SHOP.replace("Email", "E-Mail").replace("Created at", "Erstellt am")
               .replace("Total", "Gesamt"), *GOOD]),
         loaded(3), "German labels for known columns")
    case("reordered_columns", S, "orders_export_1.csv",
         text([",".join(reversed(SHOP.split(","))),
               *(",".join(reversed(g.split(","))) for g in GOOD)]),
         loaded(3, check_sql=("select sum(total) from raw.shop__orders", [[40.40]])),
         "the same columns in another order")
    case("newer_export_version", S, "orders_export_1.csv",
         text([SHOP + ",Payment Terms Name,Next Payment Due At,Duties",
               *(g + ",,," for g in GOOD)]),
         loaded(3), "a newer Shopify export with added columns")
    case("duplicate_rows_in_file", S, "orders_export_1.csv", text([SHOP, *GOOD, GOOD[0]]),
         loaded(4), "the same line twice: both kept in raw, counted once in the marts")
    case("garbage_amounts", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], order(1002, total="12,3,4"), order(1003, total="zwölf")]),
         loaded(1, 2, ["expected a number", "'zwölf'"]), "amounts that are not numbers")
    case("negative_amounts", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], order(1002, total="-10.00")]),
         loaded(1, 1, ["must not be negative, got '-10.00'"]), "a negative total")
    case("impossible_dates", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], order(1002, created="2025-02-30 10:00:00 +0100"),
               order(1003, created="gestern")]),
         loaded(1, 2, ["expected a date"]), "30 February and words instead of dates")
    case("future_dates", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], order(1002, created="2099-01-01 10:00:00 +0100")]),
         loaded(1, 1, ["lies in the future"]), "an order dated 2099")
    case("ancient_dates", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], order(1002, created="1900-01-01 10:00:00 +0100")]),
         loaded(1, 1, ["before 1970"]), "an order dated 1900")
    case("invalid_emails_in_orders", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], order(1002, email="kein mail"), order(1003, email="")]),
         loaded(3), "orders keep their revenue; the e-mail just matches nobody")
    case("invalid_emails_in_audience", "newsletter", "subscribed_members_export_1.csv",
         text([MEMBERS, "a@b.de,A,B,3,2025-01-01 10:00:00,1", "keine-adresse,C,D,2,,2"]),
         loaded(1, 1, ["must be an e-mail address"]), "an audience member without an address")
    case("huge_field", "crm", "feedback.csv",
         text(["Email,NPS,Comment", "a@b.de,9,ok", "c@d.de,3," + "x" * 5_000_000, "e@f.de,7,ok"]),
         loaded(2, 1, ["line size over maximum"]), "a 5 MB comment")
    case("embedded_newlines_and_quotes", "crm", "feedback.csv",
         text(["Email,NPS,Comment", 'a@b.de,9,"Zeile 1\nZeile 2 mit ""Zitat"""', "c@d.de,3,kurz"]),
         loaded(2, check_sql=("select comment from raw.crm__feedback order by nps desc",
                              [['Zeile 1\nZeile 2 mit "Zitat"'], ["kurz"]])),
         "a quoted comment over two lines with quotes inside")
    case("unterminated_quote", "crm", "feedback.csv",
         text(["Email,NPS,Comment", "a@b.de,9,ok", 'c@d.de,3,"offen', "e@f.de,7,ok"]),
         loaded(1, 1), "a quote that never closes swallows the rest of the record")
    bad_zip = io.BytesIO()
    with zipfile.ZipFile(bad_zip, "w") as zf:
        # fixed timestamps: regenerating the corpus writes byte-identical files
        for name, data in (("subscribed_members_export_1.csv", MEMBERS + "\na@b.de,A,B,3,,1\n"),
                           ("README.pdf", b"%PDF-1.4"),
                           ("__MACOSX/._subscribed_members_export_1.csv", b"\x00\x05"),
                           ("nested/", b"")):
            zf.writestr(zipfile.ZipInfo(name, date_time=(2025, 6, 30, 12, 0, 0)), data)
    case("zip_with_unexpected_members", "newsletter", "members_export_1.zip", bad_zip.getvalue(),
         loaded(1, file="newsletter/members_export_1.zip!subscribed_members_export_1.csv"),
         "a ZIP holding a PDF, macOS metadata and a folder besides the CSV")
    case("truncated_zip", "newsletter", "members_export_1.zip", bad_zip.getvalue()[:200],
         refused("cannot open the ZIP archive"), "a download cut off")
    case("excel_workbook", S, "orders_export_1.xlsx".replace(".xlsx", ".csv"),
         b"PK\x03\x04\x14\x00\x06\x00" + b"\x00" * 200, refused("this is not a text/CSV file"),
         "an .xlsx saved under a .csv name")
    case("binary_garbage", S, "orders_export_1.csv", bytes(range(256)) * 20,
         refused("this is not a text/CSV file"), "random bytes")
    case("html_page", S, "orders_export_1.csv",
         b"<!DOCTYPE html><html><head><title>Login</title></head><body>Session expired</body></html>\n",
         refused("not a recognised shop export"), "a login page saved instead of the export")
    case("json_file", "crm", "contacts.csv", b'{"results": [{"id": 1, "email": "a@b.de"}]}\n',
         refused("not a recognised crm export"), "an API response, not a CSV")
    case("mixed_line_endings", S, "orders_export_1.csv",
         (SHOP + "\r\n" + GOOD[0] + "\n" + GOOD[1] + "\r\n" + GOOD[2] + "\r").encode(),
         loaded(3), "CRLF, LF and CR line endings in one file")
    case("trailing_blank_lines", S, "orders_export_1.csv", text([SHOP, *GOOD, "", "", ""]),
         loaded(3), "empty lines at the end")
    case("required_value_empty", "crm", "contacts.csv",
         text([CONTACTS, "1,Anna,Berg,anna@web.de,Customer,2025-01-01 10:00",
               ",Nobody,Here,n@h.de,Lead,2025-01-01 10:00"]),
         loaded(1, 1, ["column `Record ID` is empty but required"]), "a contact without Record ID")
    case("german_excel_shop", S, "orders_export_1.csv",
         text([SHOP.replace(",", ";"),
               "#1001;a@b.de;paid;01.03.2025 10:01;EUR;1.234,50;0,00;197,11;1.234,50;0,00;"
               "01.03.2025 10:00;1;Maschine;1.234,50;MAS-1;;0,00;5001"], "\r\n", "cp1252"),
         loaded(1, check_sql=("select total from raw.shop__orders", [[1234.50]])),
         "Shopify export opened and re-saved by German Excel")
    case("excel_sep_hint_line", S, "orders_export_1.csv",
         text(["sep=;", SHOP.replace(",", ";"),
               GOOD[0].replace(",", ";").replace(".", ",").replace("@web,de", "@web.de")],
              "\r\n", "cp1252"),
         loaded(1, check_sql=("select total, _source_line from raw.shop__orders", [[24.90, 3]])),
         "Excel's `sep=;` hint line before the header")
    case("bom_only", S, "orders_export_1.csv", b"\xef\xbb\xbf",
         refused("the file has no header row"), "nothing but a byte-order mark")
    case("blank_lines_only", S, "orders_export_1.csv", b"  \r\n\r\n   \n",
         refused("the file has no header row"), "only blank lines")
    case("number_in_the_other_format", S, "orders_export_1.csv",
         text([SHOP, GOOD[0], order(1002, total='"24,90"'), GOOD[2]]),
         loaded(2, 1, ["expected a number", "'24,90'"]),
         "one amount written 24,90 in a file of 24.90 amounts: rejected, never read as 2490")
    (HERE / "cases.json").write_text(json.dumps(cases, indent=2, ensure_ascii=False) + "\n")
    print(f"{len(cases)} cases written")


if __name__ == "__main__":
    build()
