"""Issue #3: value classes, service cost, relationship segments — on planted people."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from pipelines.docs import dbt_executable
from pipelines.settings import connect_working, working_env
from tests.conftest import REPO, Workspace, copy_working

pytestmark = pytest.mark.slow


def planted(ws: Workspace) -> dict[str, dict]:
    rows = pl.read_csv(ws.truth / "planted.csv").to_dicts()
    out = {}
    for r in rows:
        got = ws.query(
            """select s.relationship_segment, v.value_class, v.value_score, v.worth_it,
                      v.is_key_account_eaten_by_service, v.is_low_value_high_potential,
                      v.top_drivers, d.relationship_segment, d.value_class
            from pii.customer_contacts c
            join marts.customer_segments s using (customer_id)
            join marts.customer_value v using (customer_id)
            join marts.dim_customers d using (customer_id)
            where c.email = ?""", [r["email"]])
        assert len(got) == 1, r["email"]
        seg, cls, score, worth, eaten, lvhp, drivers, dim_seg, dim_cls = got[0]
        assert (dim_seg, dim_cls) == (seg, cls)
        out[r["key"]] = {**r, "segment": seg, "class": cls, "score": score, "worth_it": worth,
                         "eaten": eaten, "lvhp": lvhp, "drivers": drivers}
    return out


def test_every_person_has_exactly_one_segment_and_class(built_demo: Workspace):
    n = built_demo.scalar("select count(*) from marts.dim_customers")
    assert built_demo.scalar("""select count(*) from marts.dim_customers
        where relationship_segment is not null and value_class is not null
          and worth_it is not null and value_drivers is not null""") == n
    assert built_demo.scalar("select count(distinct customer_id) from marts.customer_value") == n
    assert built_demo.scalar("select count(distinct customer_id) from marts.customer_segments") == n


def test_planted_people_land_in_their_segment_and_class(built_demo: Workspace):
    people = planted(built_demo)
    for p in people.values():
        assert p["segment"] == p["expected_segment"], p
        if p["expected_class"]:
            assert p["class"] == p["expected_class"], p
    # every class and every segment is covered by a planted case
    assert {p["expected_class"] for p in people.values()} >= set("ABCDE")
    assert {p["expected_segment"] for p in people.values()} >= {
        "Fans", "Heavy users", "Annoyed", "Formerly loyal", "Outraged", "New", "Other"}


def test_service_heavy_key_account_ranks_below_small_profitable_one(built_demo: Workspace):
    people = planted(built_demo)
    big, small = people["key_account_service"], people["small_profitable"]
    assert big["score"] < small["score"]
    assert big["eaten"] is True and small["eaten"] is False
    assert big["worth_it"] == "let_go"
    assert "costs more than it brings" in big["drivers"] and "60 tickets" in big["drivers"]
    revenue = dict(built_demo.query("""select c.email, v.net_revenue_eur from marts.customer_value v
        join pii.customer_contacts c using (customer_id) where c.email in (?, ?)""",
                                    [big["email"], small["email"]]))
    assert revenue[big["email"]] > 10 * revenue[small["email"]]


def test_the_seed_stories(built_demo: Workspace):
    people = planted(built_demo)
    assert people["annoyed"]["segment"] == "Annoyed"          # complaints, still buying
    assert people["formerly_loyal"]["segment"] == "Formerly loyal"  # frequent, gone quiet
    assert people["outraged"]["segment"] == "Outraged"        # detractor who left
    lars = people["low_value_high_potential"]
    assert lars["lvhp"] is True and lars["worth_it"] == "invest"
    assert "open pipeline 50000 €" in lars["drivers"]


def test_changing_a_weight_in_the_config_changes_classes(built_demo: Workspace, tmp_path: Path):
    """Edit dbt_project.yml (no code), rebuild customer_value: classes move."""
    project = tmp_path / "dbt_project"
    shutil.copytree(REPO / "dbt_project", project, ignore=shutil.ignore_patterns("target", "logs"))
    cfg = project / "dbt_project.yml"
    text = cfg.read_text()
    for name, weight in (("margin", "0.40"), ("trend", "0.15"), ("payment", "0.15"),
                         ("service", "0.15")):
        text = text.replace(f"    {name}: {weight} ", f"    {name}: 0.0 ", 1)
    text = text.replace("    potential: 0.15 ", "    potential: 1.0 ", 1)
    assert "potential: 1.0" in text and "margin: 0.0" in text
    cfg.write_text(text)
    db = copy_working(built_demo.settings.build_db, tmp_path / "build.duckdb")
    before = dict(_classes(db))
    env = {**os.environ, **working_env(db), "KUNDENORBIT_ID_SALT": "test-salt",
           "DBT_SEND_ANONYMOUS_USAGE_STATS": "false", "DBT_VERSION_CHECK": "false"}
    env.pop("KUNDENORBIT_AS_OF", None)
    subprocess.run([dbt_executable(), "run", "--select", "customer_value", "--quiet",
                    "--project-dir", str(project), "--profiles-dir", str(project)],
                   check=True, env=env, cwd=project)
    after = dict(_classes(db))
    changed = sum(before[k] != after[k] for k in before)
    assert changed > len(before) * 0.3
    lars = _class_of(db, "lars.potenzial@softwarehaus-nord.de")
    assert lars == "A"  # potential is all that counts now


def _classes(db: Path):
    con = connect_working(db, read_only=True)
    try:
        return con.execute("select customer_id, value_class from marts.customer_value").fetchall()
    finally:
        con.close()


def _class_of(db: Path, email: str) -> str:
    con = connect_working(db, read_only=True)
    try:
        return con.execute("""select v.value_class from marts.customer_value v
            join pii.customer_contacts c using (customer_id) where c.email = ?""",
                           [email]).fetchone()[0]
    finally:
        con.close()
