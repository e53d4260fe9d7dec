"""Demo data: real export formats, deterministic per seed, truth kept apart."""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from pathlib import Path

import polars as pl

from pipelines.demo.generate import DemoParams, generate


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.name.encode())
            if p.suffix == ".zip":
                with zipfile.ZipFile(p) as zf:
                    for n in sorted(zf.namelist()):
                        h.update(zf.read(n))
            else:
                h.update(p.read_bytes())
    return h.hexdigest()


def test_same_seed_same_files_other_seed_other_files(tmp_path: Path):
    for name, seed in (("a", 3), ("b", 3), ("c", 4)):
        generate(tmp_path / name / "raw", tmp_path / name / "truth",
                 DemoParams(people=300, seed=seed), progress=False)
    assert digest(tmp_path / "a" / "raw") == digest(tmp_path / "b" / "raw")
    assert digest(tmp_path / "a" / "raw") != digest(tmp_path / "c" / "raw")


def test_exports_have_the_real_tools_shapes(demo_template: Path):
    raw = demo_template / "data" / "raw"
    shop = (raw / "shop" / "orders_export_1.csv").read_text(encoding="utf-8")
    header = next(csv.reader(io.StringIO(shop)))
    assert header[:4] == ["Name", "Email", "Financial Status", "Paid at"]
    assert {"Lineitem quantity", "Lineitem sku", "Refunded Amount", "Cancelled at"} <= set(header)
    rows = list(csv.DictReader(io.StringIO(shop)))
    continuation = [r for r in rows if not r["Total"]]
    assert continuation, "multi-line orders have continuation rows"
    assert all(r["Name"] and not r["Financial Status"] for r in continuation)
    assert any(r["Email"] != r["Email"].strip().lower() for r in rows), "messy e-mails"
    assert {r["Financial Status"] for r in rows} >= {"paid", "refunded", "partially_refunded", "voided"}

    deals = (raw / "crm" / "hubspot-crm-exports-deals-2026-10-01.csv").read_bytes()
    assert b"\r\n" in deals and deals.split(b"\r\n")[0].startswith(b"Record ID;")
    text = deals.decode("cp1252")
    assert any("." in line.split(";")[2] and "," in line.split(";")[2]
               for line in text.splitlines()[1:]), "amounts like 12.500,00"
    contacts = (raw / "crm" / "hubspot-crm-exports-contacts-2026-10-01.csv").read_text()
    assert contacts.startswith("Record ID,First Name,Last Name,Email")

    (zpath,) = (raw / "newsletter").glob("members_export_*.zip")
    names = zipfile.ZipFile(zpath).namelist()
    assert sorted(n.split("_")[0] for n in names) == ["cleaned", "subscribed", "unsubscribed"]


def test_truth_is_separate_and_consistent(demo_template: Path):
    truth = pl.read_csv(demo_template / "data" / "demo_truth" / "people.csv")
    raw_files = [p.name for p in (demo_template / "data" / "raw").rglob("*") if p.is_file()]
    assert not any("truth" in n for n in raw_files)
    buyers = truth.filter(pl.col("is_buyer"))
    assert buyers.height > 0 and (buyers["orders"] >= 1).all()
    # dropped-out people are never alive at the end
    assert truth.filter(pl.col("dropped_out_at").is_not_null() & pl.col("is_alive_at_end")).height == 0
    shop = pl.read_csv(demo_template / "data" / "raw" / "shop" / "orders_export_1.csv",
                       infer_schema_length=0)
    n_orders = shop.filter(pl.col("Total").is_not_null()).height
    from pipelines.demo.planted import PLANTED

    assert n_orders == truth["orders"].sum() + sum(len(p.orders) for p in PLANTED)
    planted = pl.read_csv(demo_template / "data" / "demo_truth" / "planted.csv")
    assert planted.height == len(PLANTED)
