"""Issue #4 (part): next-best actions and consent-safe audience exports."""

from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from pipelines.exports import check_audiences
from tests.conftest import Workspace

pytestmark = pytest.mark.slow


def planted(ws: Workspace) -> dict[str, dict]:
    return {p["key"]: p for p in pl.read_csv(ws.truth / "planted.csv").to_dicts()}


def action_of(ws: Workspace, email: str) -> str:
    return ws.scalar("""select n.action from marts.next_best_actions n
        join pii.customer_contacts c using (customer_id) where c.email = ?""", [email])


def audience_emails(ws: Workspace, name: str) -> set[str]:
    frame = pl.read_csv(ws.settings.exports_dir / f"{name}.csv", infer_schema_length=0)
    column = "Email" if name == "call_list" else "Email Address"
    return set(frame[column].to_list())


def test_every_person_has_exactly_one_action(built_demo: Workspace):
    assert built_demo.scalar("select count(*) from marts.next_best_actions") == \
        built_demo.scalar("select count(*) from marts.dim_customers")
    assert built_demo.scalar(
        "select count(distinct customer_id) from marts.next_best_actions") == \
        built_demo.scalar("select count(*) from marts.dim_customers")


def test_planted_people_get_their_action_and_land_in_the_right_file(built_demo: Workspace):
    people = planted(built_demo)
    nina, vera = people["new"], people["valuable_going_quiet"]
    assert action_of(built_demo, nina["email"]) == "welcome_package"
    assert nina["email"] in audience_emails(built_demo, "welcome_package")
    assert action_of(built_demo, vera["email"]) == "personal_call"
    assert built_demo.scalar("""select l.lifecycle_stage from marts.customer_lifecycle l
        join pii.customer_contacts c using (customer_id) where c.email = ?""",
                             [vera["email"]]) == "at_risk"
    assert vera["email"] in audience_emails(built_demo, "call_list")


def test_unsubscribed_person_is_in_no_marketing_audience(built_demo: Workspace):
    ulla = planted(built_demo)["unsubscribed_buyer"]["email"]
    files = [p.stem for p in built_demo.settings.exports_dir.glob("*.csv")]
    assert {"value_content", "welcome_package", "win_back", "call_list"} <= set(files)
    for name in files:
        if name != "call_list":
            assert ulla not in audience_emails(built_demo, name), name
    # she ticked "accepts marketing" at checkout; the unsubscribe wins
    assert built_demo.scalar("""select has_marketing_consent from marts.dim_customers d
        join pii.customer_contacts c using (customer_id) where c.email = ?""", [ulla]) is False


def test_audience_checks_pass_on_the_real_exports(built_demo: Workspace):
    result = check_audiences(built_demo.settings.warehouse, built_demo.settings.exports_dir)
    assert result.rows_checked > 0 and result.files_checked >= 5
    assert result.without_consent == [] and result.unsubscribed_or_cleaned == []


def test_audience_checks_fail_when_an_unsubscribed_address_slips_in(
    built_demo: Workspace, tmp_path: Path
):
    folder = tmp_path / "audiences"
    shutil.copytree(built_demo.settings.exports_dir, folder)
    ulla = planted(built_demo)["unsubscribed_buyer"]["email"]
    with (folder / "value_content.csv").open("a", encoding="utf-8") as fh:
        fh.write(f"{ulla.upper()},Ulla,Abgemeldet,kundenorbit-value_content\n")
        fh.write("stranger@nowhere.example,Uwe,Unbekannt,kundenorbit-value_content\n")
    result = check_audiences(built_demo.settings.warehouse, folder)
    ulla_id = built_demo.scalar(
        "select customer_id from pii.customer_contacts where email = ?", [ulla])
    assert f"value_content.csv: {ulla_id}" in result.unsubscribed_or_cleaned
    assert f"value_content.csv: {ulla_id}" in result.without_consent
    assert ("value_content.csv: an address the warehouse does not know"
            in result.without_consent)
    # the texts go to Dagster's event log: no address in them
    assert not any("@" in v for v in result.without_consent + result.unsubscribed_or_cleaned)


def test_dagster_consent_checks_ran_and_passed(demo_ws: Workspace, monkeypatch):
    from tests.conftest import run_pipeline

    monkeypatch.delenv("KUNDENORBIT_AS_OF", raising=False)
    result = run_pipeline(demo_ws, monkeypatch)
    assert result.success
    evals = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert evals["no_marketing_without_consent"] is True
    assert evals["no_unsubscribed_or_cleaned"] is True
