"""Memory limit: one setting reaches every DuckDB connection that builds."""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines import settings as settings_module
from pipelines.resources import build_duckdb_resource
from pipelines.settings import Settings, default_duckdb_memory, duckdb_config


def _settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path, raw_dir=tmp_path / "raw", warehouse=tmp_path / "w.duckdb",
                    build_db=tmp_path / "b" / "build.duckdb", as_of=None)


def test_default_is_a_share_of_the_machine_capped_at_5gb(monkeypatch, tmp_path: Path):
    meminfo = tmp_path / "meminfo"
    monkeypatch.setattr(settings_module, "Path", lambda p: meminfo if p == "/proc/meminfo" else Path(p))
    meminfo.write_text("MemTotal:       24683520 kB\n")  # 23.5 GiB → 40 % = 9.4 → cap
    assert default_duckdb_memory() == "5GB"
    meminfo.write_text("MemTotal:        8000000 kB\n")  # 7.6 GiB → 3 GB
    assert default_duckdb_memory() == "3GB"
    meminfo.write_text("MemTotal:        1000000 kB\n")  # tiny machine: at least 1 GB
    assert default_duckdb_memory() == "1GB"


def test_the_setting_reaches_ingest_dbt_and_duckdb(monkeypatch, tmp_path: Path):
    monkeypatch.setenv("KUNDENORBIT_DUCKDB_MEMORY", "1GB")
    assert duckdb_config() == {"memory_limit": "1GB"}
    s = _settings(tmp_path)
    assert s.dbt_env()["KUNDENORBIT_DUCKDB_MEMORY"] == "1GB"  # profiles.yml reads it
    resource = build_duckdb_resource(s)
    with resource.get_connection() as con:
        limit = con.execute("select current_setting('memory_limit')").fetchone()[0]
    assert limit == "953.6 MiB"  # 1 GB; DuckDB's own default would be 80 % of RAM
    profile = (settings_module.REPO_ROOT / "dbt_project" / "profiles.yml").read_text()
    assert "env_var('KUNDENORBIT_DUCKDB_MEMORY'" in profile
    con = duckdb.connect(str(tmp_path / "x.duckdb"), config=duckdb_config())
    assert con.execute("select current_setting('memory_limit')").fetchone()[0] == limit
    con.close()
