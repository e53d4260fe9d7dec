"""The dbt project handle, in its own module so the manifest can be prepared
(`dbt parse`, see Makefile) before Dagster imports the dbt assets."""

from __future__ import annotations

from dagster_dbt import DbtProject

from pipelines.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)


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
