"""Static dbt docs site (lineage, model and column docs) next to the published file."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from pipelines.errors import KundenOrbitError
from pipelines.settings import Settings


def dbt_executable() -> str:
    return str(Path(sys.executable).parent / "dbt")


def build_docs(settings: Settings, force: bool = False) -> Path:
    """`dbt docs generate --static` against the working database → docs/index.html.

    The site shows the project's structure (lineage, model and column docs, column
    types), not data, so it is rebuilt only when the code changed since it was made
    (15–25 s saved on every run that only brings new exports)."""
    from pipelines.uptodate import code_fingerprint

    target = settings.docs_dir / "index.html"
    stamp = settings.docs_dir / ".code_fingerprint"
    made_from = code_fingerprint()
    if not force and target.exists() and stamp.exists() and stamp.read_text() == made_from:
        return target
    project = settings.dbt_project_dir
    env = {**os.environ, **settings.dbt_env()}
    proc = subprocess.run(
        [dbt_executable(), "docs", "generate", "--static", "--project-dir", str(project),
         "--profiles-dir", str(project)],
        cwd=project, env=env, capture_output=True, text=True, check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-15:])
        raise KundenOrbitError(f"dbt docs generate failed:\n{tail}")
    settings.docs_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(project / "target" / "static_index.html", target)
    stamp.write_text(made_from)
    return target
