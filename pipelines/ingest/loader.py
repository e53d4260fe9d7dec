"""Generic, set-based file loader shared by every source module.

For each export file:

1. sha256 → `raw.load_ledger`: an unchanged file is skipped, an identical copy under
   another name is recorded as `duplicate`, a changed file replaces its earlier rows.
   A file whose size and modification time (ns) are the ledger's is not hashed again;
   a ZIP archive whose size and time are those its members were read from is not opened.
2. encoding + delimiter detection, transcoding to UTF-8 (`formats.dialect`).
3. profile match on the header (`formats.profiles`); a file no profile fits is refused.
4. DuckDB `read_csv` (all text, `store_rejects`): ragged records → `raw.rejected_rows`.
5. typing in SQL (`try_cast`/`try_strptime`, per-file number and date format):
   values that do not parse → `raw.rejected_rows` with column and reason.
6. good rows → `raw.<source>__<entity>` with `_source_file`, `_source_line`,
   `_loaded_at`. The ledger row records rows_read = rows_loaded + rows_rejected
   + rows_erased: records of people in the erasure register (`pipelines/erasure.py`)
   are neither loaded nor quarantined, only counted.

Each file is one transaction: a crash leaves either all of a file or none of it.
No per-row Python: everything after the header is SQL.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipelines.erasure import EMAIL_IN_TEXT, Register
from pipelines.errors import ExportFormatError
from pipelines.formats.dialect import (
    Dialect,
    detect_dialect,
    detect_encoding,
    strip_lines,
    to_utf8,
)
from pipelines.formats.profiles import (
    PROFILES,
    Field,
    Profile,
    best_profile,
    closest_profile,
    member_status_from_name,
    normalise_label,
    profiles_for,
)
from pipelines.quality import warm_up
from pipelines.sql import sql_literal as _q

EXPORT_SUFFIXES = {".csv", ".txt", ".tsv", ".zip"}
RACY_NS = 2_000_000_000  # a modification time this close to the stat is not trusted
KEPT_STATUSES = ("loaded", "duplicate", "ignored")  # the same file again: `unchanged`

SQL_TYPES = {
    "text": "varchar",
    "decimal": "decimal(18, 2)",
    "integer": "bigint",
    "timestamp": "timestamp",
    "boolean": "boolean",
}

TZ_FORMATS = [
    "%Y-%m-%d %H:%M:%S %z",
    "%Y-%m-%d %H:%M %z",
    "%Y-%m-%dT%H:%M:%S%z",
    "%Y-%m-%dT%H:%M:%S.%f%z",
    "%Y-%m-%d %H:%M:%S%z",
]
NAIVE_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%y",
]
US_SLASH = ["%m/%d/%Y %I:%M %p", "%m/%d/%Y %H:%M:%S", "%m/%d/%Y %H:%M", "%m/%d/%Y"]
EU_SLASH = ["%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y"]

QUOTE = "''''"  # an SQL string literal holding one single quote

EXPECTED = {
    "decimal": "a number like 1234.56 or 1.234,56",
    "integer": "a whole number",
    "timestamp": "a date like 2024-12-31, 2024-12-31 14:05:00 +0100 or 31.12.2024",
    "boolean": "yes/no, true/false or ja/nein",
}


@dataclass
class FileResult:
    """What happened to one file (mirrors its `raw.load_ledger` row)."""

    source_file: str
    entity: str | None
    status: str  # loaded | unchanged | duplicate | refused | ignored | removed
    rows_read: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    message: str = ""
    rows_erased: int = 0


@dataclass
class SourceResult:
    source: str
    files: list[FileResult] = field(default_factory=list)

    def for_entity(self, entity: str) -> list[FileResult]:
        return [f for f in self.files if f.entity == entity]

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]


# ---------------------------------------------------------------- schema


def ensure_raw_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create the raw schema, the ledger, the rejects table and every raw table."""
    con.execute("create schema if not exists raw")
    con.execute(
        """
        create table if not exists raw.load_ledger (
            source_file varchar primary key,
            source varchar,
            entity varchar,
            profile varchar,
            sha256 varchar,
            size_bytes bigint,
            encoding varchar,
            delimiter varchar,
            number_format varchar,
            rows_read bigint,
            rows_loaded bigint,
            rows_rejected bigint,
            status varchar,
            message varchar,
            quality_passed boolean,
            quality_message varchar,
            loaded_at timestamp,
            mtime_ns bigint
        )"""
    )
    # working databases from before the ledger kept the modification time
    con.execute("alter table raw.load_ledger add column if not exists mtime_ns bigint")
    con.execute("alter table raw.load_ledger add column if not exists rows_erased bigint")
    # a ZIP member's row: the archive's size and modification time when it was read
    con.execute("alter table raw.load_ledger add column if not exists archive_stat varchar")
    con.execute(
        """
        create table if not exists raw.rejected_rows (
            source_file varchar,
            source_line bigint,
            entity varchar,
            column_name varchar,
            reason varchar,
            raw_text varchar,
            loaded_at timestamp
        )"""
    )
    for p in PROFILES:
        cols = [f"{f.name} {SQL_TYPES[f.type]}" for f in p.fields]
        cols += [f"{d} varchar" for d in p.derived]
        cols += ["_source_file varchar", "_source_line bigint", "_loaded_at timestamp"]
        con.execute(f"create table if not exists raw.{p.table} ({', '.join(cols)})")


# ---------------------------------------------------------------- discovery


def discover(source_dir: Path) -> list[Path]:
    """Export files in a source folder (recursively; hidden files skipped), sorted."""
    if not source_dir.exists():
        return []
    return sorted(
        p
        for p in source_dir.rglob("*")
        if p.is_file()
        and not any(part.startswith((".", "_")) for part in p.relative_to(source_dir).parts)
        and p.suffix.lower() in EXPORT_SUFFIXES
    )


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- loading


def load_source(
    con: duckdb.DuckDBPyConnection, raw_dir: Path, source: str, loaded_at: dt.datetime,
    erasures: Path | None = None,
) -> SourceResult:
    """Load every export file of one source folder (`raw_dir/source`); records of the
    people in the erasure register `erasures` are left out (counted as erased)."""
    ensure_raw_schema(con)
    _use_register(con, erasures)
    from pipelines.uptodate import record_source_state  # before reading: see uptodate.py

    record_source_state(con, raw_dir, source)
    result = SourceResult(source)
    with tempfile.TemporaryDirectory(prefix="kundenorbit-") as tmp:
        tmp_dir = Path(tmp)
        for path in discover(raw_dir / source):
            rel = path.relative_to(raw_dir).as_posix()
            if path.suffix.lower() == ".zip":
                result.files.extend(_load_zip(con, path, rel, source, loaded_at, tmp_dir))
            else:
                result.files.append(_load_one(con, path, rel, source, loaded_at, tmp_dir))
    result.files.extend(_forget_removed_files(con, source, result, loaded_at))
    con.execute("drop table if exists _ko_erasure")
    return result


def _use_register(con: duckdb.DuckDBPyConnection, erasures: Path | None) -> None:
    """The erasure register as temp table `_ko_erasure` (kind, sha256, salt); none when
    nobody was erased, so files load exactly as before."""
    con.execute("drop table if exists _ko_erasure")
    register = Register.load(erasures) if erasures is not None and erasures.exists() else None
    if register is None or not register.entries:
        return
    con.execute("create temp table _ko_erasure (kind varchar, sha256 varchar, salt varchar)")
    con.executemany("insert into _ko_erasure values (?, ?, ?)",
                    [[e["kind"], e["sha256"], register.salt] for e in register.entries])


def _mark_erased(con: duckdb.DuckDBPyConnection, names: list[str]) -> int:
    """Fill temp table `_ko_erased` (rid) with the records of erased people in
    `_ko_typed`, drop their parse rejects from `_ko_parse_rej` → records erased.
    A person's records: their e-mail (hashed once per distinct address), the other line
    items of their Shopify orders (same `Name`), tickets of their HubSpot contact."""
    con.execute("drop table if exists _ko_erased")
    con.execute("create temp table _ko_erased (rid bigint)")
    found = con.execute("select count(*) from duckdb_tables() where temporary "
                        "and table_name = '_ko_erasure'").fetchone()[0]
    if not found:
        return 0
    salt = con.execute("select any_value(salt) from _ko_erasure").fetchone()[0]

    def hashed(kind: str, value: str) -> str:
        return (f"sha256({_q(salt)} || {value}) in "
                f"(select sha256 from _ko_erasure where kind = {_q(kind)})")

    if "email" in names:
        con.execute(
            f"""insert into _ko_erased select rid from _ko_typed
            where lower(trim(replace(email, chr(160), ' '))) in (
                select e from (select distinct lower(trim(replace(email, chr(160), ' '))) as e
                               from _ko_typed where email is not null)
                where {hashed('email', 'e')})""")
    if "associated_contact_ids" in names:
        con.execute(
            f"""insert into _ko_erased select rid from _ko_typed
            where associated_contact_ids is not null and exists (
                select 1 from unnest(regexp_split_to_array(associated_contact_ids,
                                                           '[^0-9A-Za-z]+')) as u(i)
                where i <> '' and {hashed('crm_contact', 'i')})""")
    if "order_name" in names:
        con.execute(
            """insert into _ko_erased select rid from _ko_typed
            where order_name in (select t.order_name from _ko_typed t
                                 join _ko_erased e using (rid))
              and rid not in (select rid from _ko_erased)""")
    parse = con.execute(
        f"""delete from _ko_parse_rej where exists (
            select 1 from unnest(regexp_extract_all(lower(csv_line), {_q(EMAIL_IN_TEXT)})) as u(e)
            where {hashed('email', 'e')})""").fetchone()[0]
    return con.execute("select count(*) from _ko_erased").fetchone()[0] + parse


def _forget_removed_files(
    con: duckdb.DuckDBPyConnection, source: str, result: SourceResult, loaded_at: dt.datetime
) -> list[FileResult]:
    """The raw folder is the source of truth: rows of a file that is no longer there
    are removed (ledger status `removed`). Members of a ZIP that could not be opened
    this time are kept, so a damaged re-download cannot wipe earlier data."""
    seen = {f.source_file for f in result.files}
    broken_zips = tuple(f"{f.source_file}!" for f in result.refused if "!" not in f.source_file)
    gone = [
        (sf, entity)
        for sf, entity in con.execute(
            """select source_file, entity from raw.load_ledger
            where source = ? and status <> 'removed' order by 1""", [source]).fetchall()
        if sf not in seen and not sf.startswith(broken_zips)
    ]
    removed = []
    for sf, entity in gone:
        con.execute("begin transaction")
        _delete_rows(con, sf)
        res = FileResult(sf, entity, "removed",
                         message="file no longer in the raw folder; its rows were removed")
        con.execute(
            """update raw.load_ledger set status = 'removed', rows_loaded = 0,
                rows_rejected = 0, message = ?, loaded_at = ? where source_file = ?""",
            [res.message, loaded_at, sf])
        con.execute("commit")
        removed.append(res)
    return removed


def _stat(path: Path) -> tuple[os.stat_result, bool]:
    """The file's stat, taken before it is read, and whether its modification time can
    be trusted to tell a rewrite: one less than RACY_NS before the stat is not (as git
    does for its index; file systems tick in milliseconds, so a rewrite within the same
    tick could keep it)."""
    stat_at = time.time_ns()
    st = path.stat()
    return st, st.st_mtime_ns < stat_at - RACY_NS


def _load_zip(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    rel: str,
    source: str,
    loaded_at: dt.datetime,
    tmp_dir: Path,
) -> Iterator[FileResult]:
    # an archive with the size and modification time its members were read from is not
    # opened again (no CRC check, no extraction, no hashing of its members): the rule of
    # `_load_one` for plain files, applied to the archive. ~0.7 s a run for the 86 MB of
    # members in L's audience export (design note 33).
    st, settled = _stat(path)
    archive_stat = f"{st.st_size}:{st.st_mtime_ns}" if settled else None
    if archive_stat is not None:
        known = con.execute(
            """select source_file, entity, status, archive_stat from raw.load_ledger
            where starts_with(source_file, ?) and status <> 'removed' order by 1""",
            [f"{rel}!"]).fetchall()
        if known and all(status in KEPT_STATUSES and stat == archive_stat
                         for _, _, status, stat in known):
            for member_rel, entity, _, _ in known:
                yield FileResult(member_rel, entity, "unchanged",
                                 message="unchanged since last load")
            return
    try:
        with zipfile.ZipFile(path) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            bad = zf.testzip()
            if bad is not None:
                raise zipfile.BadZipFile(f"member {bad} is corrupt")
            for m in members:
                member_rel = f"{rel}!{m.filename}"
                name = Path(m.filename).name
                if name.startswith((".", "_")) or Path(name).suffix.lower() not in {
                    ".csv", ".txt", ".tsv"
                }:
                    yield _record(con, FileResult(member_rel, None, "ignored", message=(
                        "not a CSV member; ignored")), source, None, loaded_at)
                    continue
                target = tmp_dir / f"zip-{abs(hash(member_rel))}-{name}"
                with zf.open(m) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                yield _load_one(con, target, member_rel, source, loaded_at, tmp_dir)
        # every member read: remember which archive they came from (none when its time
        # is too recent to trust, so the next run opens it again)
        con.execute("update raw.load_ledger set archive_stat = ? where starts_with(source_file, ?)",
                    [archive_stat, f"{rel}!"])
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        yield _refuse(con, rel, source, loaded_at, ExportFormatError(
            rel, f"cannot open the ZIP archive ({exc})",
            "export it again from the tool; the file looks truncated or damaged"), None)


def _refuse(con, rel, source, loaded_at, exc: ExportFormatError, sha: str | None,
            stat: dict | None = None) -> FileResult:
    res = FileResult(rel, None, "refused", message=str(exc))
    return _record(con, res, source, sha, loaded_at, stat)


def _record(
    con: duckdb.DuckDBPyConnection,
    res: FileResult,
    source: str,
    sha: str | None,
    loaded_at: dt.datetime,
    extra: dict | None = None,
) -> FileResult:
    extra = extra or {}
    con.execute("delete from raw.load_ledger where source_file = ?", [res.source_file])
    con.execute(
        """insert into raw.load_ledger (source_file, source, entity, profile, sha256,
            size_bytes, encoding, delimiter, number_format, rows_read, rows_loaded,
            rows_rejected, status, message, quality_passed, quality_message, loaded_at,
            mtime_ns, rows_erased)
        values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, null, null, ?, ?, ?)""",
        [
            res.source_file, source, res.entity, extra.get("profile"), sha,
            extra.get("size"), extra.get("encoding"), extra.get("delimiter"),
            extra.get("number_format"), res.rows_read, res.rows_loaded, res.rows_rejected,
            res.status, res.message, loaded_at, extra.get("mtime_ns"), res.rows_erased,
        ],
    )
    return res


def _load_one(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    rel: str,
    source: str,
    loaded_at: dt.datetime,
    tmp_dir: Path,
) -> FileResult:
    # a file of the raw folder with the size and modification time (ns) the ledger holds
    # is not read again: every rewrite, copy or `touch` changes the time. The stat is
    # taken before the file is read, so a change while it is read shows on the next run.
    # A time too recent to trust (`_stat`) is not kept. ZIP members are temporary
    # copies: they are always hashed (`_load_zip` skips an archive whose own size and
    # time are unchanged).
    st, settled = _stat(path)
    trusted = "!" not in rel and settled
    stat = {"size": st.st_size, "mtime_ns": st.st_mtime_ns if trusted else None}
    prev = con.execute(
        """select sha256, status, entity, size_bytes, mtime_ns from raw.load_ledger
        where source_file = ?""", [rel]
    ).fetchone()
    unchanged = FileResult(rel, prev[2] if prev else None, "unchanged",
                           message="unchanged since last load")
    kept = prev is not None and prev[1] in KEPT_STATUSES and prev[0] is not None
    if kept and prev[4] is not None and (prev[3], prev[4]) == (st.st_size, st.st_mtime_ns):
        return unchanged

    if kept:
        # read before (a ZIP member, a touched file): most likely unchanged, hash first
        sha = sha256_of(path)
        if sha == prev[0]:
            if stat["mtime_ns"] is not None:  # same content, new time: remember the time
                con.execute("update raw.load_ledger set mtime_ns = ?, size_bytes = ? "
                            "where source_file = ?", [stat["mtime_ns"], st.st_size, rel])
            return unchanged
        identified = _identify_or_refusal(path, rel, source, tmp_dir)
    else:
        # a new file: the hash runs beside the format detection (hashlib releases the GIL)
        with ThreadPoolExecutor(max_workers=1) as pool:
            hashing = pool.submit(sha256_of, path)
            identified = _identify_or_refusal(path, rel, source, tmp_dir)
            sha = hashing.result()
    if isinstance(identified, ExportFormatError):
        con.execute("begin transaction")
        _delete_rows(con, rel)
        res = _refuse(con, rel, source, loaded_at, identified, sha, stat)
        con.execute("commit")
        return res
    profile, mapping, dialect, utf8 = identified
    try:
        return _load_identified(con, utf8, rel, source, loaded_at, tmp_dir, sha, stat,
                                profile, mapping, dialect)
    finally:
        if utf8 != path:
            utf8.unlink(missing_ok=True)


def _load_identified(
    con: duckdb.DuckDBPyConnection,
    utf8: Path,
    rel: str,
    source: str,
    loaded_at: dt.datetime,
    tmp_dir: Path,
    sha: str,
    stat: dict,
    profile: Profile,
    mapping: dict[str, int],
    dialect: Dialect,
) -> FileResult:
    warm_up()  # the file's validation needs GX: its import runs while DuckDB loads
    con.execute("begin transaction")
    try:
        _delete_rows(con, rel)
        twin = con.execute(
            """select source_file from raw.load_ledger
               where sha256 = ? and status = 'loaded' and source_file <> ?""",
            [sha, rel],
        ).fetchone()
        if twin:
            res = _record(con, FileResult(rel, profile.entity, "duplicate",
                          message=f"identical to {twin[0]}; not loaded twice"),
                          source, sha, loaded_at, {"profile": profile.name, **stat})
        else:
            body = strip_lines(utf8, dialect.skip_lines, tmp_dir) if dialect.skip_lines else utf8
            try:
                res, number_format = _load_csv(con, body, rel, profile, mapping, dialect,
                                               loaded_at)
            finally:
                if body != utf8:
                    body.unlink(missing_ok=True)
            res = _record(con, res, source, sha, loaded_at, {
                "profile": profile.name, **stat,
                "encoding": dialect.encoding, "delimiter": dialect.delimiter,
                "number_format": number_format})
        con.execute("commit")
    except duckdb.Error as exc:
        con.execute("rollback")
        msg = f"could not be parsed as CSV ({str(exc).splitlines()[0]})"
        con.execute("begin transaction")
        res = _refuse(con, rel, source, loaded_at, ExportFormatError(
            rel, msg, "check that it is a CSV export of the tool"), sha, stat)
        con.execute("commit")
    return res


def _delete_rows(con: duckdb.DuckDBPyConnection, rel: str) -> None:
    """Remove everything an earlier version of this file loaded."""
    for p in PROFILES:
        con.execute(f"delete from raw.{p.table} where _source_file = ?", [rel])
    con.execute("delete from raw.rejected_rows where source_file = ?", [rel])


def _identify_or_refusal(
    path: Path, rel: str, source: str, tmp_dir: Path
) -> tuple[Profile, dict[str, int], Dialect, Path] | ExportFormatError:
    try:
        return _identify(path, rel, source, tmp_dir)
    except ExportFormatError as exc:
        return exc


def _identify(
    path: Path, rel: str, source: str, tmp_dir: Path
) -> tuple[Profile, dict[str, int], Dialect, Path]:
    """The file's profile, column mapping and dialect, and its UTF-8 version (the file
    itself or a transcoded temporary copy, which the caller removes)."""
    if path.stat().st_size == 0:
        raise ExportFormatError(rel, "the file is empty", "export it again from the tool")
    with path.open("rb") as fh:
        head = fh.read(8192)
    if head.startswith(b"PK\x03\x04") or (b"\x00" in head and not _utf16_like(head)):
        raise ExportFormatError(rel, "this is not a text/CSV file",
                                "export the data as CSV and drop that file here")
    encoding = detect_encoding(path)
    known = {k for p in profiles_for(source) for f in p.fields for k in f.label_keys()}
    utf8 = to_utf8(path, encoding, tmp_dir)
    try:
        return (*_identify_utf8(utf8, rel, source, encoding, known), utf8)
    except BaseException:
        if utf8 != path:
            utf8.unlink(missing_ok=True)
        raise


def _identify_utf8(
    utf8: Path, rel: str, source: str, encoding: str, known: set[str]
) -> tuple[Profile, dict[str, int], Dialect]:
    dialect = detect_dialect(utf8, encoding, known)
    if not any(h.strip() for h in dialect.header):
        raise ExportFormatError(rel, "the file has no header row (it holds only blank lines)",
                                "export it again from the tool")
    profile, mapping = best_profile(source, dialect.header)
    if profile is None:
        near, missing = closest_profile(source, dialect.header)
        found = ", ".join(dialect.header[:8]) + (" …" if len(dialect.header) > 8 else "")
        wanted = ", ".join(f"`{f.labels[0]}`" for f in missing)
        raise ExportFormatError(
            rel,
            f"not a recognised {source} export: the header lacks {wanted} "
            f"(closest format: {near.name}); found: {found}",
            "export with those columns, or add a format profile in "
            "pipelines/formats/profiles.py",
        )
    return profile, mapping, dialect


def _utf16_like(head: bytes) -> bool:
    return head[:2] in (b"\xff\xfe", b"\xfe\xff") or (len(head) > 3 and head[1] == 0)


def _load_csv(
    con: duckdb.DuckDBPyConnection,
    utf8: Path,
    rel: str,
    profile: Profile,
    mapping: dict[str, int],
    dialect: Dialect,
    loaded_at: dt.datetime,
) -> tuple[FileResult, str]:
    n = len(dialect.header)
    columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(n)) + "}"
    con.execute("drop table if exists _ko_stage")
    # DuckDB appends to an existing rejects table: without this, a ragged record of one
    # file was counted and quarantined again for every later file of the same load
    con.execute("drop table if exists _ko_rej")
    con.execute("drop table if exists _ko_rej_scan")
    con.execute(
        f"""create temp table _ko_stage as
        select * from read_csv({_q(str(utf8))}, header = true, auto_detect = false,
            delim = {_q(dialect.delimiter)}, quote = '"', escape = '"',
            columns = {columns}, store_rejects = true,
            rejects_table = '_ko_rej', rejects_scan = '_ko_rej_scan',
            null_padding = false, max_line_size = 4000000)"""
    )
    # --- record numbers: rejects report CSV record numbers (header = 1); good rows
    #     fill the gaps in file order (rowid follows insertion order).
    con.execute("drop table if exists _ko_parse_rej")
    con.execute(
        """create temp table _ko_parse_rej as
        select line as source_line,
               arg_min(error_type::varchar, coalesce(column_idx, 0)) as error_type,
               arg_min(error_message, coalesce(column_idx, 0)) as error_message,
               arg_min(csv_line, coalesce(column_idx, 0)) as csv_line
        from _ko_rej group by line"""
    )
    good = con.execute("select count(*) from _ko_stage").fetchone()[0]
    bad_parse = con.execute("select count(*) from _ko_parse_rej").fetchone()[0]
    rows_read = good + bad_parse

    number_format = _number_format(con, profile, mapping, dialect)
    day_first = _slash_day_first(con, profile, mapping)
    usual = _usual_timestamp_formats(con, profile, mapping, day_first)

    typed_cols, checks = [], []
    for f in profile.fields:
        if f.name not in mapping:
            typed_cols.append(f"cast(null as {SQL_TYPES[f.type]}) as {f.name}")
            continue
        raw = f"nullif(trim(c{mapping[f.name]}), '')"
        typed_cols.append(f"{_typed(raw, f, number_format, day_first, usual.get(f.name))} "
                          f"as {f.name}")
        label = dialect.header[mapping[f.name]]
        # checks: (condition on the typed record, reason SQL, label SQL); reasons are
        # evaluated only for rejected records, joined back to the stage table `s`
        got_value = f"nullif(trim(s.c{mapping[f.name]}), '')"

        def got(words: str, value: str = got_value, label: str = label) -> str:
            """SQL for the reason text: `column `X` <words>, got '<value>'`."""
            return f"{_q(f'column `{label}` {words}, got ')} || {QUOTE} || {value} || {QUOTE}"

        if f.type != "text":
            checks.append((f"{raw} is not null and {f.name} is null",
                           got(f"expected {EXPECTED[f.type]}"), _q(label)))
        if f.rule:
            cond, words = f.rule
            condition = cond.replace("{v}", f.name)
            checks.append((f"{f.name} is not null and not ({condition})", got(words),
                           _q(label)))
        if f.type == "timestamp":
            latest = "timestamp '9999-12-31'" if f.future_ok else (
                f"timestamp '{loaded_at:%Y-%m-%d %H:%M:%S}' + interval 1 day")
            checks.append((f"{f.name} is not null and not ({f.name} between "
                           f"timestamp '1970-01-01' and {latest})",
                           got("lies in the future or before 1970"), _q(label)))
        if f.required_value:
            checks.append((f"{f.name} is null", _q(f"column `{label}` is empty but required"),
                           _q(label)))

    derived = []
    if "member_status" in profile.derived:
        derived.append(f"{_q(member_status_from_name(rel))} as member_status")

    # --- record numbers: good rows fill the gaps between rejected records, in file
    #     order (a fresh table's rowids run base, base + 1, … in insertion order; the
    #     base is not 0 inside a transaction). Good row r comes after every rejected
    #     record j (0-based, sorted) with line_j - 2 - j <= r.
    base = con.execute("select coalesce(min(rowid), 0) from _ko_stage").fetchone()[0]
    rid = f"(s.rowid - {base})"
    if bad_parse:
        con.execute("drop table if exists _ko_gaps")
        con.execute(
            """create temp table _ko_gaps as
            select good_before, max(rejects_so_far) as rejects_so_far from (
                select source_line - 2 - (row_number() over (order by source_line) - 1)
                           as good_before,
                       row_number() over (order by source_line) as rejects_so_far
                from _ko_parse_rej) group by good_before"""
        )
        numbered = (f"select s.*, {rid} as rid, {rid} + 2 + coalesce(g.rejects_so_far, 0) "
                    "as source_line from _ko_stage s asof left join _ko_gaps g "
                    f"on {rid} >= g.good_before")
    else:
        numbered = f"select s.*, {rid} as rid, {rid} + 2 as source_line from _ko_stage s"
    # --- typing and value checks in one pass: each record keeps the number of its
    #     first failing check (null: it passed them all). A view, not a table: the good
    #     records go from it straight into the raw table (materialised, the typed copy of
    #     a 10 M-row export was a third of the shop's load time on L); only the records
    #     that were not loaded are typed a second time, for their reasons.
    first_failure = ("case " + " ".join(f"when {cond} then {i}"
                                         for i, (cond, _, _) in enumerate(checks)) + " end"
                     if checks else "cast(null as integer)")
    names = [f.name for f in profile.fields]

    def typed(records: str) -> str:
        return (f"""select rid, source_line + {dialect.skip_lines} as source_line,
                   {', '.join(names)}, {first_failure} as _ko_failed
            from (select rid, source_line, {', '.join(typed_cols)},
                         {', '.join(f"c{i}" for i in sorted(set(mapping.values())))}
                  from ({records}))""")

    con.execute("drop view if exists _ko_typed")
    con.execute(f"create temp view _ko_typed as {typed(numbered)}")
    erased = _mark_erased(con, names)  # reads only the text columns it needs
    keep = " and t.rid not in (select rid from _ko_erased)" if erased else ""
    cols = names + list(profile.derived)
    # DuckDB would push `_ko_failed is null` below the typing, inlining every typed
    # expression into the filter once per check that names it, then type the record
    # again (L shop export: 85 s). Kept above the typing, a record is typed once.
    con.execute("set disabled_optimizers = 'filter_pushdown'")
    try:
        con.execute(
            f"""insert into raw.{profile.table}
                ({', '.join(cols)}, _source_file, _source_line, _loaded_at)
            select {', '.join(names + [d.split(' as ')[0] for d in derived])},
                   {_q(rel)}, source_line, ?::timestamp
            from _ko_typed t where _ko_failed is null{keep}""",
            [loaded_at],
        )
    finally:
        con.execute("reset disabled_optimizers")
    loaded = con.execute(
        f"select count(*) from raw.{profile.table} where _source_file = ?", [rel]
    ).fetchone()[0]
    # --- value rejects, with the record's raw text (read back only for those records):
    #     the records not loaded (rejected or erased), typed again to name the check
    if checks and loaded < good:
        con.execute("drop table if exists _ko_left")
        con.execute(
            f"""create temp table _ko_left as {typed(
                f"select n.* from ({numbered}) n anti join (select _source_line from "
                f"raw.{profile.table} where _source_file = {_q(rel)}) l "
                f"on n.source_line + {dialect.skip_lines} = l._source_line")}""")
        raw_text = " || ".join(
            f"coalesce(s.c{i}, '')" + (f" || {_q(dialect.delimiter)}" if i < n - 1 else "")
            for i in range(n)
        )

        def by_check(k: int) -> str:
            return "case t._ko_failed " + " ".join(
                f"when {i} then {c[k]}" for i, c in enumerate(checks)) + " end"

        con.execute(
            f"""insert into raw.rejected_rows
            select {_q(rel)}, t.source_line, {_q(profile.entity)}, {by_check(2)}, {by_check(1)},
                   {raw_text}, ?::timestamp
            from _ko_left t join _ko_stage s on s.rowid = t.rid + {base}
            where t._ko_failed is not null{keep}""",
            [loaded_at],
        )
    con.execute(
        f"""insert into raw.rejected_rows
        select {_q(rel)}, source_line + {dialect.skip_lines}, {_q(profile.entity)},
               '(whole record)',
               case error_type
                   when 'TOO MANY COLUMNS' then 'too many fields: ' || error_message
                   when 'MISSING COLUMNS' then 'too few fields: ' || error_message
                   when 'LINE SIZE OVER MAXIMUM'
                       then 'line size over maximum (4 MB): a field is far too long'
                   else lower(error_type) || ': ' || coalesce(error_message, '')
               end,
               coalesce(csv_line, '(too long to keep)'), ?::timestamp
        from _ko_parse_rej""",
        [loaded_at],
    )
    rejected = con.execute(
        "select count(*) from raw.rejected_rows where source_file = ?", [rel]
    ).fetchone()[0]
    con.execute("drop view if exists _ko_typed")
    for t in ("_ko_stage", "_ko_left", "_ko_parse_rej", "_ko_gaps", "_ko_erased"):
        con.execute(f"drop table if exists {t}")
    ignored = [h for i, h in enumerate(dialect.header) if i not in mapping.values() and h]
    msg = f"{loaded} rows loaded, {rejected} rejected"
    if erased:
        msg += f", {erased} erased on request (not kept)"
    if ignored:
        msg += f"; {len(ignored)} columns not used: " + ", ".join(ignored[:10])
        msg += " …" if len(ignored) > 10 else ""
    status = "loaded"
    res = FileResult(rel, profile.entity, status, rows_read, loaded, rejected, msg, erased)
    return res, number_format


def _timestamp_formats(day_first: bool) -> list[tuple[str, bool]]:
    """(format, carries a time zone) in the order _typed tries them."""
    return ([(x, True) for x in TZ_FORMATS]
            + [(x, False) for x in NAIVE_FORMATS + (EU_SLASH if day_first else US_SLASH)])


def _timestamp_in(raw: str, fmt: tuple[str, bool], as_written: bool = False) -> str:
    """A value read in one format; a zoned one as a UTC time, a trailing Z / UTC first
    rewritten to +0000 (strptime's %z reads neither) unless `as_written`."""
    x, zoned = fmt
    if zoned:
        value = raw if as_written else f"regexp_replace({raw}, '(Z| UTC)$', '+0000')"
        return f"timezone('UTC', try_strptime({value}, {_q(x)}))"
    return f"try_strptime({raw}, {_q(x)})"


def _usual_timestamp_formats(
    con: duckdb.DuckDBPyConnection, profile: Profile, mapping: dict[str, int], day_first: bool
) -> dict[str, tuple[str, bool]]:
    """Per timestamp column, the format _typed picks for most of its first 1,000 values.
    Tried first, it spares most values the up to 18 formats before it; values it does
    not read still go through all of them in order."""
    usual = {}
    formats = _timestamp_formats(day_first)
    for f in profile.fields:
        if f.type != "timestamp" or f.name not in mapping:
            continue
        raw = f"nullif(trim(c{mapping[f.name]}), '')"
        first_match = "case " + " ".join(
            f"when {_timestamp_in(raw, x)} is not null then {i}" for i, x in enumerate(formats)
        ) + " end"
        found = con.execute(
            f"select i from (select {first_match} as i from (select c{mapping[f.name]} "
            f"from _ko_stage where {raw} is not null limit 1000)) where i is not null "
            "group by i order by count(*) desc, i limit 1"
        ).fetchone()
        if found:
            usual[f.name] = formats[found[0]]
    return usual


def _typed(raw: str, f: Field, number_format: str, day_first: bool,
           usual: tuple[str, bool] | None = None) -> str:
    if f.type == "text":
        return raw
    if f.type in ("decimal", "integer"):
        # the value must have the file's number format exactly; "24,90" in a file of
        # "1,234.50" numbers is rejected, never read as 2490
        cleaned = f"regexp_replace({raw}, '[€$£\\s\\x{{00a0}}]|EUR', '', 'g')"
        # most values are plain digits with at most the decimal separator: one regex on
        # the value as it stands reads them (`plain`, the same number the full rule
        # gives), and only the others are cleaned and matched (three regex calls per
        # value cost most of a 10 M-line shop export's load; design note 35)
        if number_format == "de":
            pattern = r"-?[0-9]{1,3}(\.[0-9]{3})*(,[0-9]+)?|-?[0-9]+(,[0-9]+)?"
            as_number = f"replace(replace({cleaned}, '.', ''), ',', '.')"
            plain, plain_number = r"-?[0-9]+(,[0-9]+)?", f"replace({raw}, ',', '.')"
        else:
            pattern = r"-?[0-9]{1,3}(,[0-9]{3})*(\.[0-9]+)?|-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?"
            as_number = f"replace({cleaned}, ',', '')"
            plain, plain_number = r"-?[0-9]+(\.[0-9]+)?", raw
        valid = f"regexp_full_match({cleaned}, {_q(pattern)})"
        is_plain = f"regexp_full_match({raw}, {_q(plain)})"
        scale = "decimal(18, 2)" if f.type == "decimal" else "decimal(38, 6)"
        num = (f"(case when {is_plain} then try_cast({plain_number} as {scale}) "
               f"when {valid} then try_cast({as_number} as {scale}) end)")
        if f.type == "decimal":
            return num
        return f"(case when {num} = trunc({num}) then try_cast({num} as bigint) end)"
    if f.type == "timestamp":
        # one try_strptime per format: with a list of formats DuckDB 2.0 rolls impossible
        # dates over (2025-02-30 → 2025-03-02); single formats refuse them.
        # the column's usual format (if known) first: one parse for most values
        formats = _timestamp_formats(day_first)
        parts = []
        if usual in formats:
            formats = [usual] + [x for x in formats if x != usual]
            if usual[1]:
                # a zoned usual format read on the value as it stands first: the rewrite
                # of a trailing Z / UTC to +0000 is a regex on every value, and only those
                # values need it (strptime's %z reads neither). Same instant either way.
                parts.append(_timestamp_in(raw, usual, as_written=True))
        parts += [_timestamp_in(raw, x) for x in formats]
        return f"coalesce({', '.join(parts)})"
    if f.type == "boolean":
        return (
            f"(case when lower({raw}) in ('true', 'yes', 'ja', '1', 'y', 'j', 'wahr', 'x') "
            f"then true when lower({raw}) in ('false', 'no', 'nein', '0', 'n', 'falsch') "
            f"then false end)"
        )
    raise ValueError(f.type)


def _number_format(
    con: duckdb.DuckDBPyConnection, profile: Profile, mapping: dict[str, int], dialect: Dialect
) -> str:
    """'de' (1.234,56) or 'en' (1,234.56): decided once per file from its values."""
    cols = [mapping[f.name] for f in profile.fields
            if f.type in ("decimal", "integer") and f.name in mapping]
    if not cols:
        return "de" if dialect.delimiter == ";" else "en"
    values = " union all ".join(f"select trim(c{i}) as v from _ko_stage" for i in cols)
    # the patterns run once per distinct value (prices repeat), weighted by its count
    de, en = con.execute(
        f"""select
            coalesce(sum(n) filter (
                where regexp_full_match(v, '-?[0-9]{{1,3}}(\\.[0-9]{{3}})*,[0-9]+')
                   or regexp_full_match(v, '-?[0-9]{{1,3}}(\\.[0-9]{{3}})+')), 0),
            coalesce(sum(n) filter (
                where regexp_full_match(v, '-?[0-9]{{1,3}}(,[0-9]{{3}})*\\.[0-9]+')
                   or regexp_full_match(v, '-?[0-9]{{1,3}}(,[0-9]{{3}})+')), 0)
        from (select v, count(*) as n from ({values}) where v is not null and v <> ''
              group by v)"""
    ).fetchone()
    if de == en:
        return "de" if dialect.delimiter == ";" else "en"
    return "de" if de > en else "en"


def _slash_day_first(
    con: duckdb.DuckDBPyConnection, profile: Profile, mapping: dict[str, int]
) -> bool:
    """Slash dates are US month-first unless some value's first part exceeds 12."""
    cols = [mapping[f.name] for f in profile.fields if f.type == "timestamp" and f.name in mapping]
    if not cols:
        return False
    values = " union all ".join(f"select trim(c{i}) as v from _ko_stage" for i in cols)
    found = con.execute(
        f"""select 1 from ({values}) where v like '%/%'
            and try_cast(regexp_extract(v, '^([0-9]{{1,2}})/[0-9]{{1,2}}/', 1) as int) > 12
        limit 1"""
    ).fetchone()
    return found is not None


__all__ = [
    "FileResult",
    "SourceResult",
    "discover",
    "ensure_raw_schema",
    "load_source",
    "normalise_label",
]
