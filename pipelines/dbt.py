"""The dbt project handle, in its own module so the manifest can be prepared
(`dbt parse`, see Makefile) before Dagster imports the dbt assets."""

from __future__ import annotations

from dagster_dbt import DbtProject

from pipelines.settings import REPO_ROOT

DBT_PROJECT_DIR = REPO_ROOT / "dbt_project"

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
