"""Run the pipeline once for a workspace home (a separate process for kill and
concurrency tests): python -m tests.integration.run_once <home>  → exit 0 on success."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import Workspace, run_pipeline


def main() -> int:
    ws = Workspace(Path(sys.argv[1]))
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KUNDENORBIT_AS_OF", raising=False)
        result = run_pipeline(ws, mp)
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
