"""KundenOrbitDbtCli skips two start-up costs of dagster-dbt (design note 24)."""

import re
import subprocess

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


def test_incremental_builds_use_two_threads_unless_told_otherwise(monkeypatch):
    import pytest

    from pipelines.errors import ConfigError
    from pipelines.transform import incremental_threads

    monkeypatch.delenv("KUNDENORBIT_DBT_THREADS", raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 8)
    assert incremental_threads() == 2
    monkeypatch.setattr("os.cpu_count", lambda: 1)
    assert incremental_threads() == 1
    monkeypatch.setenv("KUNDENORBIT_DBT_THREADS", "3")
    assert incremental_threads() == 3
    for bad in ("0", "two", "-1"):
        monkeypatch.setenv("KUNDENORBIT_DBT_THREADS", bad)
        with pytest.raises(ConfigError, match="KUNDENORBIT_DBT_THREADS"):
            incremental_threads()
