"""Is the published warehouse still what a run would build now?

A run's result depends on the export files, the code and rules (dbt project, Python
pipeline, quality suites), the analysis-date setting and the ID salt. Each ingest step
records the state of its source folder (path, size, mtime of every file) *before* it reads
the files (`raw.input_state`); publishing stores one fingerprint over those states, the
code and the settings in `audit.publish_info.inputs_fingerprint`. `kundenorbit up-to-date`
(and `make run`, the daily schedule) compare it with the fingerprint of what is there now:
equal → nothing to do, the run only confirms it. A file that changes while a run reads it
makes the recorded state older than the file, so the next check rebuilds — never the
other way round.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb

from pipelines.settings import REPO_ROOT, SOURCES, Settings

CODE_GLOBS = ("dbt_project/dbt_project.yml", "dbt_project/profiles.yml", "dbt_project/models/**/*",
              "dbt_project/macros/**/*", "dbt_project/seeds/**/*", "dbt_project/tests/**/*",
              "pipelines/**/*.py", "quality/**/*.json")


def source_state(raw_dir: Path, source: str) -> str:
    """(path, size, mtime) of every export file of one source folder, one per line."""
    from pipelines.ingest.loader import discover

    lines = []
    for path in discover(raw_dir / source):
        st = path.stat()
        lines.append(f"{path.relative_to(raw_dir).as_posix()}|{st.st_size}|{st.st_mtime_ns}")
    return "\n".join(sorted(lines))


def record_source_state(con: duckdb.DuckDBPyConnection, raw_dir: Path, source: str) -> None:
    state = source_state(raw_dir, source)
    con.execute("create table if not exists raw.input_state (source varchar primary key, state varchar)")
    con.execute("insert or replace into raw.input_state values (?, ?)", [source, state])


def code_fingerprint() -> str:
    h = hashlib.sha256()
    files = sorted({p for g in CODE_GLOBS for p in REPO_ROOT.glob(g) if p.is_file()
                    and "__pycache__" not in p.parts})
    for p in files:
        h.update(p.relative_to(REPO_ROOT).as_posix().encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


def fingerprint(states: dict[str, str], settings: Settings) -> str:
    h = hashlib.sha256()
    for source in SOURCES:
        h.update(f"{source}\n{states.get(source, '')}\n".encode())
    h.update(code_fingerprint().encode())
    h.update(f"as_of={settings.as_of or ''}".encode())
    h.update(hashlib.sha256(settings.id_salt().encode()).digest())
    h.update(f"raw_dir={settings.raw_dir.resolve()}".encode())
    return h.hexdigest()


def fingerprint_of_build(con: duckdb.DuckDBPyConnection, settings: Settings) -> str | None:
    """The fingerprint of what the working database was built from (None if unknown)."""
    try:
        states = dict(con.execute("select source, state from raw.input_state").fetchall())
    except duckdb.CatalogException:
        return None
    return fingerprint(states, settings)


def fingerprint_now(settings: Settings) -> str:
    return fingerprint({s: source_state(settings.raw_dir, s) for s in SOURCES}, settings)


def check(settings: Settings) -> tuple[bool, str]:
    """(up to date?, why) — read-only; never touches the warehouse."""
    if os.environ.get("KUNDENORBIT_FORCE"):
        return False, "KUNDENORBIT_FORCE is set"
    if not settings.warehouse.exists():
        return False, "nothing published yet"
    con = duckdb.connect(str(settings.warehouse), read_only=True)
    try:
        row = con.execute("select inputs_fingerprint, published_at from audit.publish_info").fetchone()
    except duckdb.Error:
        return False, "the published warehouse does not record its inputs (older version)"
    finally:
        con.close()
    if not row or not row[0]:
        return False, "the published warehouse does not record its inputs"
    if row[0] != fingerprint_now(settings):
        return False, "export files, code, rules or settings changed since the last publish"
    files = sum(len([x for x in source_state(settings.raw_dir, s).splitlines() if x]) for s in SOURCES)
    return True, (f"up to date: the warehouse published {row[1]:%Y-%m-%d %H:%M} UTC was built from "
                  f"these {files} export files, this code and these rules; nothing to do "
                  "(KUNDENORBIT_FORCE=1 or `make run FORCE=1` rebuilds anyway)")
