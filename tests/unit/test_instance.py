"""The Dagster instance's event log (pipelines/instance.py, design note 32): the repo's
dagster.yaml selects it, it stores and reads what Dagster's default storage does in the
same files, and it keeps its engines instead of building one per event."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipelines import instance as instance_module
from pipelines.errors import ConfigError
from pipelines.instance import KEEP_ENGINES, KundenOrbitEventLogStorage

REPO = Path(__file__).resolve().parents[2]


@dg.asset(check_specs=[dg.AssetCheckSpec("positive", asset="numbers")])
def numbers(context):
    context.log.info("three numbers")
    yield dg.MaterializeResult(metadata={"rows": 3})
    yield dg.AssetCheckResult(check_name="positive", passed=True)


JOB = dg.Definitions(assets=[numbers], jobs=[dg.define_asset_job("numbers_job")]) \
    .resolve_job_def("numbers_job")


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A DAGSTER_HOME with the repo's dagster.yaml."""
    shutil.copy(REPO / ".dagster" / "dagster.yaml", tmp_path / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    return tmp_path


def _instance() -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(os.environ["DAGSTER_HOME"])


def test_the_repos_instance_uses_it_where_dagster_keeps_its_event_logs(home):
    with _instance() as inst:
        storage = inst.event_log_storage
        assert type(storage) is KundenOrbitEventLogStorage
        assert Path(storage._base_dir) == home / "history" / "runs"


def test_a_run_is_stored_and_read_back_with_two_engines_for_all_its_events(home, monkeypatch):
    built = []
    real = instance_module.create_engine
    monkeypatch.setattr(instance_module, "create_engine",
                        lambda *a, **k: built.append(a[0]) or real(*a, **k))
    with _instance() as inst:
        result = JOB.execute_in_process(instance=inst)
        events = inst.all_logs(result.run_id)
        # the run's own database and the index database; every event of the run through them
        assert len(set(built)) == len(built) == 2
        assert len(events) >= 15
        messages = [e.user_message for e in events if not e.is_dagster_event]
        assert "three numbers" in messages
        mat = inst.get_latest_materialization_event(dg.AssetKey("numbers"))
        assert mat.run_id == result.run_id
        assert mat.asset_materialization.metadata["rows"].value == 3
        check = inst.event_log_storage.get_latest_asset_check_execution_by_key(
            [dg.AssetCheckKey(dg.AssetKey("numbers"), "positive")])
        assert check[dg.AssetCheckKey(dg.AssetKey("numbers"), "positive")].run_id == result.run_id


def test_runs_written_by_dagsters_own_storage_read_the_same(home):
    """Same files: history kept by the default storage (before this class) stays readable,
    and what this class writes reads the same through Dagster's."""
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with _instance() as inst:
        assert type(inst.event_log_storage) is SqliteEventLogStorage
        before = JOB.execute_in_process(instance=inst).run_id
        before_events = [e.dagster_event_type for e in inst.all_logs(before)]
    shutil.copy(REPO / ".dagster" / "dagster.yaml", home / "dagster.yaml")
    with _instance() as inst:
        assert type(inst.event_log_storage) is KundenOrbitEventLogStorage
        assert [e.dagster_event_type for e in inst.all_logs(before)] == before_events
        after = JOB.execute_in_process(instance=inst).run_id
        after_events = [e.dagster_event_type for e in inst.all_logs(after)]
        assert {r.run_id for r in inst.get_runs()} == {before, after}
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    with _instance() as inst:
        assert [e.dagster_event_type for e in inst.all_logs(after)] == after_events


def test_only_the_most_recently_used_engines_stay_open(home):
    with _instance() as inst:
        storage = inst.event_log_storage
        runs = [JOB.execute_in_process(instance=inst).run_id for _ in range(KEEP_ENGINES)]
        assert len(storage._engines) == KEEP_ENGINES
        assert "index" in storage._engines  # used by every run, so never the oldest
        assert runs[-1] in storage._engines and runs[0] not in storage._engines
        assert len(inst.all_logs(runs[0])) >= 15  # an evicted run's file opens again


def test_without_dagster_home_the_message_says_what_is_missing(monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with pytest.raises(ConfigError, match="DAGSTER_HOME is not set"):
        KundenOrbitEventLogStorage.from_config_value(None, {})
