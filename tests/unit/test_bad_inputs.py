"""The bad-input corpus (tests/data/bad_inputs/, see make_corpus.py and cases.json):
every data line is loaded or listed in rejected_rows with file, line, column and reason,
or the file is refused with one line that names it and says what to fix."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.loader import PROFILES, load_source
from tests.conftest import DATA

CORPUS = DATA / "bad_inputs"


def _cases() -> list[dict]:
    if not (CORPUS / "huge_field").exists():  # the one case too big to commit
        import importlib.util

        spec = importlib.util.spec_from_file_location("make_corpus", CORPUS / "make_corpus.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        module.build()
    return json.loads((CORPUS / "cases.json").read_text())


CASES = _cases()


def test_corpus_has_at_least_30_cases():
    assert len(CASES) >= 30


@pytest.mark.parametrize("case", CASES, ids=[c["case"] for c in CASES])
def test_bad_input(case: dict, tmp_path: Path):
    raw = tmp_path / "raw"
    shutil.copytree(CORPUS / case["case"], raw)
    con = duckdb.connect()
    try:
        result = load_source(con, raw, case["source"], dt.datetime(2026, 10, 1))
        target = case.get("file", case["file"])
        ledger = con.execute(
            """select status, rows_read, rows_loaded, rows_rejected, message
            from raw.load_ledger where source_file = ?""", [target]).fetchone()
        assert ledger is not None, f"{target} not in the ledger"
        status, read, loaded, rejected, message = ledger

        if case["status"] == "refused":
            assert status == "refused"
            assert message.startswith(case["file"] + ": ")
            assert case["message"] in message
            assert "\n" not in message and "Traceback" not in message
            assert [f.source_file for f in result.refused] == [case["file"]]
            return

        assert status == "loaded", message
        assert (loaded, rejected) == (case["rows_loaded"], case["rows_rejected"])
        assert read == loaded + rejected
        table = next(p.table for p in PROFILES
                     if p.entity == con.execute("select entity from raw.load_ledger "
                                                "where source_file = ?", [target]).fetchone()[0]
                     and p.source == case["source"])
        in_table = con.execute(f"select count(*) from raw.{table} where _source_file = ?",
                               [target]).fetchone()[0]
        assert in_table == loaded
        rejects = con.execute(
            """select source_line, column_name, reason from raw.rejected_rows
            where source_file = ? order by source_line""", [target]).fetchall()
        assert len(rejects) == rejected
        assert all(line >= 2 and column and reason for line, column, reason in rejects)
        for words in case["reasons"]:
            assert any(words in r[2] for r in rejects), (words, rejects)
        if "message" in case:
            assert case["message"] in message
        if "check_sql" in case:
            sql, expected = case["check_sql"]
            got = [[float(v) if hasattr(v, "as_tuple") else v for v in row]
                   for row in con.execute(sql).fetchall()]
            assert got == expected
    finally:
        con.close()
