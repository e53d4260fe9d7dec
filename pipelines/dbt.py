"""The dbt project handle, in its own module so the manifest can be prepared
(`dbt parse`, see Makefile) before Dagster imports the dbt assets."""

from __future__ import annotations

import importlib.metadata
from functools import cached_property

from dagster_dbt import DbtCliResource, DbtProject
from packaging import version

from pipelines.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


class KundenOrbitDbtCli(DbtCliResource):
    """dagster-dbt's resource without two start-up costs paid on every dbt step
    (design note 24). Before each `dbt build` dagster-dbt

    - ran `dbt --version` in a subprocess to learn the dbt version (2-3 s per process), and
    - loaded dbt-core and its adapter *inside* the Dagster process, parsing every macro
      (1.5-3 s per step), for a handle it uses only to fetch row counts and column
      metadata after a model ran — which this project does not ask for.

    The dbt executable is the one of this environment (`pipelines.docs.dbt_executable`),
    so its version is the installed dbt-core's; no adapter handle means no row-count or
    column-metadata fetching (dagster-dbt skips both when it has none). Pinned
    dagster-dbt (requirements.lock); tests/unit/test_dbt_resource.py fails if an upgrade
    renames either hook."""

    @cached_property
    def _cli_version(self) -> version.Version:
        return version.parse(importlib.metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args):  # dagster-dbt calls it with the dbt args
        return None


def build_outside_dagster(build_db, env: dict[str, str], quiet: bool = True) -> None:
    """`dbt build` + the CLV models in the order the Dagster job runs them, for scripts
    (`make bench`, `make evaluate`, tests) that do not start Dagster: everything that does
    not read the `models` source, then clv.py, then the models downstream of it."""
    import subprocess

    from pipelines.docs import dbt_executable
    from pipelines.models.clv import ClvConfig, run_clv
    from pipelines.settings import working_env

    env = {**env, **working_env(build_db)}  # the working database and its analysts' file
    project = str(DBT_PROJECT_DIR)
    base = [dbt_executable(), "build", "--project-dir", project, "--profiles-dir", project]
    if quiet:
        base.insert(2, "--quiet")
    out = None if not quiet else subprocess.DEVNULL
    subprocess.run([*base, "--exclude", "source:models+"], check=True, env=env,
                   cwd=project, stdout=out)
    run_clv(build_db, ClvConfig.from_dbt_project(DBT_PROJECT_DIR))
    subprocess.run([*base, "--select", "source:models+"], check=True, env=env, cwd=project,
                   stdout=out)
