"""KundenOrbitDbtCli skips two start-up costs of dagster-dbt (design note 24)."""

import re
import subprocess

import pytest
from dagster_dbt import DbtCliResource

from pipelines.dbt import KundenOrbitDbtCli, dbt_project
from pipelines.docs import dbt_executable


def test_the_hooks_it_replaces_still_exist_in_dagster_dbt():
    # an upgrade that renames them would silently bring the costs back
    assert "_cli_version" in vars(DbtCliResource)
    assert callable(vars(DbtCliResource)["_initialize_dbt_core_adapter"])
    called_by_cli = DbtCliResource.cli.__code__.co_names  # attributes `cli` looks up
    assert {"_cli_version", "_initialize_dbt_core_adapter"} <= set(called_by_cli)


def test_version_is_the_executables_without_running_it():
    resource = KundenOrbitDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable())
    out = subprocess.run([dbt_executable(), "--version"], capture_output=True, text=True,
                         check=True).stdout
    core = re.search(r"installed:\s*(\d+\.\d+\.\d+)", out) or re.search(r"(\d+\.\d+\.\d+)", out)
    assert str(resource._cli_version) == core.group(1)
    assert resource._cli_version.major == 1 and resource._cli_version.minor == 11


def test_no_adapter_is_loaded_in_process():
    resource = KundenOrbitDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable())
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_builds_use_two_threads_unless_told_otherwise(monkeypatch):
    from pipelines.errors import ConfigError
    from pipelines.transform import build_threads

    monkeypatch.delenv("KUNDENORBIT_DBT_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert build_threads() == 2
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert build_threads() == 1
    monkeypatch.setenv("KUNDENORBIT_DBT_THREADS", "3")
    assert build_threads() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("KUNDENORBIT_DBT_THREADS", bad)
        with pytest.raises(ConfigError, match="KUNDENORBIT_DBT_THREADS"):
            build_threads()


def test_a_step_keeps_its_runs_folders_and_the_newest_earlier_ones(tmp_path):
    import os

    from pipelines.transform import prune_target_dirs

    # six earlier steps of three runs (oldest first), then the current run's two steps
    steps = ["kundenorbit_dbt_models", "kundenorbit_dbt_models_2"]
    earlier = [tmp_path / f"{steps[i % 2]}-{i // 2:07x}-{i:07x}" for i in range(6)]
    this_run = [tmp_path / f"{op}-cafe123-{i:07x}" for i, op in enumerate(steps)]
    for age, path in enumerate(reversed(earlier + this_run)):
        (path / "compiled").mkdir(parents=True)
        (path / "run_results.json").write_text("{}")
        os.utime(path, (1_700_000_000 - age * 60,) * 2)
    # this run's first step is older than every earlier step: still kept
    os.utime(this_run[0], (1_600_000_000,) * 2)
    others = [tmp_path / "compiled", tmp_path / "run", tmp_path / "kundenorbit_dbt_models-x",
              tmp_path / "manifest.json"]
    for path in others[:3]:
        path.mkdir()
    others[3].write_text("{}")

    removed = prune_target_dirs(this_run[1], keep=4)

    assert sorted(removed) == earlier[:2]  # the oldest run's two steps
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        p.name for p in earlier[2:] + this_run + others)
    assert prune_target_dirs(this_run[1], keep=4) == []  # nothing more to remove
