"""Great Expectations suites (quality/*.json) on raw tables, per file, plus SQL invariants.

GX is imported lazily (4–5 s) and only when a file needs validating; the loader starts
that import in a background thread as soon as a file is to be loaded (`warm_up`), so it
runs while DuckDB reads the file (which releases the GIL). Each new file is
validated once, as a pandas batch of just the columns its suite names (files of more than
GX_SAMPLE_ROWS records: every k-th record); the verdict is stored in `raw.load_ledger`,
so unchanged files cost nothing on the next run.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import duckdb

from pipelines.erasure import EMAIL_IN_TEXT
from pipelines.settings import REPO_ROOT

QUALITY_DIR = REPO_ROOT / "quality"
EMAIL_LIKE = re.compile(EMAIL_IN_TEXT)
GX_SAMPLE_ROWS = 250_000


@dataclass(frozen=True)
class CheckOutcome:
    """Verdict of the raw_quality check for one raw table."""

    passed: bool
    files_checked: int
    files_failed: list[str]
    invariant_problems: list[str]
    description: str


def load_suite(table: str) -> dict:
    return json.loads((QUALITY_DIR / f"{table}.json").read_text())


def suite_version(table: str) -> str:
    return hashlib.sha256((QUALITY_DIR / f"{table}.json").read_bytes()).hexdigest()[:12]


_GX_LOCK = threading.Lock()
_WARMING: threading.Thread | None = None  # the warm-up thread, once started


def _gx_batch_definition():
    with _GX_LOCK:  # the warm-up thread and a validation may ask at the same time
        return _gx_batch_definition_once()


def warm_up() -> None:
    """Import GX and build its context in a daemon thread (once per process). Errors are
    left to the validation that needs it, which raises them where they belong."""
    global _WARMING
    if _WARMING is None:
        _WARMING = threading.Thread(target=_warm, name="gx-warm-up", daemon=True)
        _WARMING.start()


def _warm() -> None:
    with contextlib.suppress(Exception):  # reported by the validation itself
        _gx_batch_definition()


@lru_cache(maxsize=1)
def _gx_batch_definition_once():
    import great_expectations as gx

    logging.getLogger("great_expectations").setLevel(logging.ERROR)
    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False)
    except Exception:
        pass
    source = context.data_sources.add_pandas("kundenorbit_raw")
    asset = source.add_dataframe_asset("file_batch")
    return context, asset.add_batch_definition_whole_dataframe("whole_file")


def validate_frame(table: str, frame) -> tuple[bool, str]:  # frame: pandas.DataFrame
    """Validate a pandas frame against the table's suite → (passed, message)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    _context, batch_definition = _gx_batch_definition()
    spec = load_suite(table)
    suite = gx.ExpectationSuite(name=f"{table}-{id(frame)}")
    for exp in spec["expectations"]:
        if exp["kwargs"].get("column") in frame.columns:
            suite.add_expectation_configuration(
                ExpectationConfiguration(type=exp["type"], kwargs=exp["kwargs"])
            )
    result = batch_definition.get_batch(batch_parameters={"dataframe": frame}).validate(suite)
    failures = []
    for r in result.results:
        if not r.success:
            kw = r.expectation_config.kwargs
            # examples go to the ledger and Dagster's event log: no e-mail addresses
            examples = [EMAIL_LIKE.sub("<e-mail address>", str(v)) if isinstance(v, str) else v
                        for v in r.result.get("partial_unexpected_list", [])[:3]]
            failures.append(
                f"{r.expectation_config.type}({kw.get('column')}): "
                f"{r.result.get('unexpected_count')} rows fail, e.g. {examples}"
            )
    return (not failures, "; ".join(failures) or "all expectations met")


def validate_new_files(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Validate files of `table` whose ledger row has no verdict for this suite version."""
    version = suite_version(table)
    pending = con.execute(
        """select source_file, rows_loaded from raw.load_ledger
        where status = 'loaded' and source || '__' || entity = ?
          and coalesce(quality_message, '') not like ?""",
        [table, f"[{version}]%"],
    ).fetchall()
    if not pending:
        return
    columns = sorted({e["kwargs"]["column"] for e in load_suite(table)["expectations"]})
    for source_file, rows in pending:
        # GX's pandas engine costs ~2 s per expectation per million rows; beyond
        # GX_SAMPLE_ROWS a file is validated on every k-th record (spread over the whole
        # file, the same records every time). Row-level guarantees do not depend on it:
        # the loader types and rejects every record in SQL, dbt tests check every row.
        step = max(1, -(-rows // GX_SAMPLE_ROWS))
        frame = con.execute(
            f"select {', '.join(columns)} from raw.{table} where _source_file = ?"
            + (f" and _source_line % {step} = 0" if step > 1 else ""),
            [source_file],
        ).df()
        passed, message = validate_frame(table, frame)
        if step > 1:
            message = f"on 1 in {step} of {rows:,} records: {message}"
        con.execute(
            """update raw.load_ledger set quality_passed = ?, quality_message = ?
            where source_file = ?""",
            [passed, f"[{version}] {message}", source_file],
        )


def check_table(con: duckdb.DuckDBPyConnection, table: str) -> CheckOutcome:
    """The raw_quality verdict: every loaded file passed its suite, and every row read
    was loaded or rejected (SQL invariant over the ledger and the raw table)."""
    validate_new_files(con, table)
    rows = con.execute(
        """select source_file, quality_passed, quality_message from raw.load_ledger
        where status = 'loaded' and source || '__' || entity = ?""",
        [table],
    ).fetchall()
    failed = [f"{f}: {m}" for f, ok, m in rows if not ok]
    problems = [
        f"{f}: read {r}, loaded {l_}, rejected {j}, in table {t}"
        for f, r, l_, j, t in con.execute(
            f"""select l.source_file, l.rows_read, l.rows_loaded, l.rows_rejected,
                   coalesce(t.n, 0)
            from raw.load_ledger l
            left join (select _source_file, count(*) as n from raw.{table}
                       group by _source_file) t on t._source_file = l.source_file
            where l.status = 'loaded' and l.source || '__' || l.entity = ?
              and (l.rows_read <> l.rows_loaded + l.rows_rejected
                                   + coalesce(l.rows_erased, 0)
                   or l.rows_loaded <> coalesce(t.n, 0))""",
            [table],
        ).fetchall()
    ]
    passed = not failed and not problems
    if passed:
        description = f"{len(rows)} file(s) meet quality/{table}.json; every row loaded or rejected"
    else:
        description = "; ".join(failed + problems)[:2000]
    return CheckOutcome(passed, len(rows), failed, problems, description)


def suite_path(table: str) -> Path:
    return QUALITY_DIR / f"{table}.json"
