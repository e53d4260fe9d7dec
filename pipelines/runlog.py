"""Condense Dagster's run log (stdin) for the terminal: step results, check verdicts,
errors; the full log stays in the Dagster instance (.dagster/)."""

from __future__ import annotations

import re
import sys

KEEP = re.compile(
    r"STEP_SUCCESS|STEP_FAILURE|RUN_SUCCESS|RUN_FAILURE|ASSET_CHECK_EVALUATION.*(fail|FAIL)"
    r"|Failure|could not be read|error|Error|refused"
)


def main() -> int:
    failed = False
    succeeded = False
    for raw in sys.stdin:
        line = raw.rstrip()
        if "RUN_FAILURE" in line or "STEP_FAILURE" in line:
            failed = True
        if "RUN_SUCCESS" in line:
            succeeded = True
        if KEEP.search(line) and "DeprecationWarning" not in line:
            print(line[-400:] if len(line) > 400 else line, flush=True)
    if not succeeded and not failed:
        # the job never started (e.g. the code failed to load): say so, fail `make run`
        print("kundenorbit_job did not run: see the error above", file=sys.stderr)
    return 0 if succeeded and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
