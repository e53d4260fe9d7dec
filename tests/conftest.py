"""Shared fixtures: small generated demo data and a helper that runs the pipeline
in-process (dg.materialize) against a temporary data folder."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipelines.settings import Settings, analysts_db_for

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Workspace:
    home: Path

    @property
    def raw(self) -> Path:
        return self.home / "data" / "raw"

    @property
    def truth(self) -> Path:
        return self.home / "data" / "demo_truth"

    @property
    def settings(self) -> Settings:
        return Settings(
            home=self.home,
            raw_dir=self.raw,
            warehouse=self.home / "data" / "warehouse" / "kundenorbit.duckdb",
            build_db=self.home / "data" / "warehouse" / ".build" / "build.duckdb",
            as_of=os.environ.get("KUNDENORBIT_AS_OF") or None,
        )

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        con = duckdb.connect(str(self.settings.warehouse), read_only=True)
        try:
            return con.execute(sql, params or []).fetchall()
        finally:
            con.close()

    def scalar(self, sql: str, params: list | None = None):
        return self.query(sql, params)[0][0]


def copy_working(build_db: Path, to: Path) -> Path:
    """Copy a working database and its analysts' models' file (analysts.duckdb next to it)
    to `to` (a build.duckdb path in another folder); returns `to`."""
    to.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(build_db, to)
    shutil.copy(analysts_db_for(build_db), analysts_db_for(to))
    return to


def run_pipeline(ws: Workspace, monkeypatch: pytest.MonkeyPatch, with_docs: bool = False):
    """Materialise ingest → dbt → publish (→ docs) in-process for `ws`."""
    import dagster as dg
    from dagster_duckdb import DuckDBResource

    from pipelines import definitions as d
    from pipelines.dbt import KundenOrbitDbtCli, dbt_project
    from pipelines.docs import dbt_executable
    from pipelines.resources import KundenOrbitResource

    monkeypatch.setenv("KUNDENORBIT_ID_SALT", "test-salt")
    monkeypatch.setenv("KUNDENORBIT_HOME", str(ws.home))
    settings = ws.settings
    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    assets = [d.ingest_shop, d.ingest_crm, d.ingest_newsletter, d.kundenorbit_dbt_models, d.clv_models,
              d.published_warehouse, d.audience_exports,
              d.audience_consent_checks] + ([d.dbt_docs_site] if with_docs else [])
    return dg.materialize(
        assets,
        resources={
            "duckdb": DuckDBResource(database=str(settings.build_db)),
            "dbt": KundenOrbitDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable()),
            "kundenorbit": KundenOrbitResource.from_settings(settings),
        },
        raise_on_error=False,
    )


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """A small generated demo data set (600 people, seed 7), generated once."""
    from pipelines.demo.generate import DemoParams, generate

    home = tmp_path_factory.mktemp("demo-template")
    generate(home / "data" / "raw", home / "data" / "demo_truth",
             DemoParams(people=600, seed=7), progress=False)
    return home


@pytest.fixture
def demo_ws(demo_template: Path, tmp_path: Path) -> Workspace:
    """A fresh copy of the demo data in its own folder."""
    home = tmp_path / "home"
    shutil.copytree(demo_template, home)
    return Workspace(home)


@pytest.fixture
def empty_ws(tmp_path: Path) -> Workspace:
    home = tmp_path / "home"
    for source in ("shop", "crm", "newsletter"):
        (home / "data" / "raw" / source).mkdir(parents=True)
    return Workspace(home)


@pytest.fixture(scope="session")
def built_demo(demo_template: Path, tmp_path_factory) -> Workspace:
    """The demo data run through the whole pipeline once (read-only tests share it)."""
    home = tmp_path_factory.mktemp("built") / "home"
    shutil.copytree(demo_template, home)
    ws = Workspace(home)
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KUNDENORBIT_AS_OF", raising=False)
        result = run_pipeline(ws, mp, with_docs=True)
    assert result.success, "the demo pipeline run failed"
    return ws
