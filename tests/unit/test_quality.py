"""raw_quality asset check (Great Expectations + SQL invariants): pass and fail cases."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from pipelines.ingest.loader import load_source
from pipelines.quality import check_table, validate_frame

T0 = dt.datetime(2026, 10, 1)


def feedback(tmp_path: Path, rows: list[str]) -> None:
    path = tmp_path / "crm" / "feedback.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("Email,Date,NPS,Comment\n" + "\n".join(rows) + "\n")


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def test_check_passes_on_good_feedback(con, tmp_path: Path):
    feedback(tmp_path, ["a@b.de,2025-01-01,9,gut", "c@d.de,2025-01-02,3,schlecht"])
    load_source(con, tmp_path, "crm", T0)
    outcome = check_table(con, "crm__feedback")
    assert outcome.passed
    assert outcome.files_checked == 1


def test_check_fails_on_mostly_invalid_emails_and_names_the_file(con, tmp_path: Path):
    # rows load (the survey answer is kept), but a file of unusable addresses fails the suite
    feedback(tmp_path, ["a@b.de,2025-01-01,9,gut", "kein-mail,2025-01-02,3,?",
                        "auch nicht,2025-01-03,5,!"])
    load_source(con, tmp_path, "crm", T0)
    outcome = check_table(con, "crm__feedback")
    assert not outcome.passed
    assert "crm/feedback.csv" in outcome.description
    assert "expect_column_values_to_match_regex(email): 2 rows fail" in outcome.description


def test_nps_out_of_range_is_rejected_at_load_not_loaded(con, tmp_path: Path):
    feedback(tmp_path, ["a@b.de,2025-01-01,9,gut", "c@d.de,2025-01-02,14,?"])
    load_source(con, tmp_path, "crm", T0)
    assert con.execute("select column_name, reason from raw.rejected_rows").fetchall() == [
        ("NPS", "column `NPS` must be a score from 0 to 10, got '14'")]
    assert check_table(con, "crm__feedback").passed


def test_check_fails_when_a_row_went_missing(con, tmp_path: Path):
    feedback(tmp_path, ["a@b.de,2025-01-01,9,gut", "c@d.de,2025-01-02,3,x"])
    load_source(con, tmp_path, "crm", T0)
    con.execute("delete from raw.crm__feedback where nps = 3")  # a row silently lost
    outcome = check_table(con, "crm__feedback")
    assert not outcome.passed
    assert "read 2, loaded 2, rejected 0, in table 1" in outcome.invariant_problems[0]


def test_verdict_is_stored_so_unchanged_files_are_not_revalidated(con, tmp_path: Path):
    feedback(tmp_path, ["a@b.de,2025-01-01,9,gut"])
    load_source(con, tmp_path, "crm", T0)
    check_table(con, "crm__feedback")
    message = con.execute("select quality_message from raw.load_ledger").fetchone()[0]
    assert message.startswith("[") and message.endswith("all expectations met")


def test_validate_frame_reports_examples():
    import pandas as pd

    ok, message = validate_frame(
        "newsletter__members",
        pd.DataFrame({"email": ["a@b.de", None], "member_status": ["subscribed", "weird"]}),
    )
    assert not ok
    assert "expect_column_values_to_not_be_null(email)" in message
    assert "expect_column_values_to_be_in_set(member_status)" in message


def test_large_files_are_validated_on_a_spread_sample(con, tmp_path: Path, monkeypatch):
    # 40 answers, sample of 1 in 4 (records 4, 8, …): the verdict says so; bad e-mails
    # spread over the file still fail the suite, good ones still pass
    import pipelines.quality as quality

    monkeypatch.setattr(quality, "GX_SAMPLE_ROWS", 10)
    feedback(tmp_path, [f"k{i}@b.de,2025-01-01,9,gut" for i in range(40)])
    load_source(con, tmp_path, "crm", T0)
    outcome = check_table(con, "crm__feedback")
    assert outcome.passed
    message = con.execute("select quality_message from raw.load_ledger").fetchone()[0]
    assert "on 1 in 4 of 40 records: all expectations met" in message

    feedback(tmp_path, [f"k{i}@b.de,2025-01-01,9,gut" if i % 2 else f"kaputt{i},2025-01-01,9,?"
                        for i in range(40)])
    load_source(con, tmp_path, "crm", T0)
    outcome = check_table(con, "crm__feedback")
    assert not outcome.passed
    assert "on 1 in 4 of 40 records" in outcome.description
    assert "regex(email): 10 rows fail" in outcome.description


def test_loading_a_file_warms_up_gx_once_in_the_background(con, tmp_path: Path, monkeypatch):
    """Design note 30: the loader starts GX's import and context beside the load; one
    thread per process, and the validation after it uses the context it built."""
    import pipelines.quality as quality

    monkeypatch.setattr(quality, "_WARMING", None)
    quality._gx_batch_definition_once.cache_clear()
    feedback(tmp_path, ["anna@example.com,2026-09-01,9,gut"])
    load_source(con, tmp_path, "crm", T0)
    first = quality._WARMING
    assert first is not None and first.name == "gx-warm-up"
    quality.warm_up()  # a second file: no second thread
    assert quality._WARMING is first
    first.join(timeout=120)
    assert quality._gx_batch_definition_once.cache_info().currsize == 1
    outcome = check_table(con, "crm__feedback")
    assert outcome.passed and outcome.files_checked == 1
    assert quality._gx_batch_definition_once.cache_info().hits >= 1  # the warm context
