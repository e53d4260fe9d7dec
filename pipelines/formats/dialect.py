"""CSV dialect detection: encoding, delimiter, header. Pure functions on files.

DuckDB's `read_csv` reads only UTF-8, Latin-1 and UTF-16, so everything that is not
plain UTF-8 (Excel's Windows-1252, UTF-16 "Unicode text", UTF-8 with BOM) is transcoded
to a UTF-8 temporary file first, streaming in chunks so memory stays flat.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1 << 22  # 4 MiB
DELIMITERS = (",", ";", "\t", "|")
SEP_HINT = re.compile(r"\s*sep=(.)\s*", re.I)  # Excel's delimiter hint line: "sep=;"


@dataclass(frozen=True)
class Dialect:
    encoding: str  # utf-8, utf-8-sig, utf-16, cp1252, latin-1
    delimiter: str
    header: list[str]
    skip_lines: int = 0  # 1 when Excel's "sep=;" hint line precedes the header


def detect_encoding(path: Path) -> str:
    """BOMs first; then UTF-8 if the whole file decodes; else Windows-1252, else Latin-1."""
    with path.open("rb") as fh:
        head = fh.read(4)
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    # UTF-16 without BOM: every other byte NUL in ASCII text
    if len(head) >= 4 and head[1] == 0 and head[3] == 0 and head[0] != 0:
        return "utf-16-le"
    for encoding in ("utf-8", "cp1252"):
        if _decodes(path, encoding):
            return encoding
    return "latin-1"


def _decodes(path: Path, encoding: str) -> bool:
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        with path.open("rb") as fh:
            while chunk := fh.read(CHUNK):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def has_lone_cr(path: Path) -> bool:
    """True if the file uses bare CR line ends anywhere (old Mac, or mixed endings)."""
    prev_cr = False
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            if prev_cr and not chunk.startswith(b"\n"):
                return True
            if re.search(rb"\r(?!\n)", chunk[:-1]):
                return True
            prev_cr = chunk.endswith(b"\r")
    return prev_cr


def to_utf8(path: Path, encoding: str, out_dir: Path) -> Path:
    """Return a UTF-8 (no BOM, LF or CRLF line ends) version of `path`: the file itself
    if it already is one. Bare CRs (mixed line endings) become LF."""
    lone_cr = encoding not in ("utf-16", "utf-16-le") and has_lone_cr(path)
    if encoding == "utf-8" and not lone_cr:
        return path
    out = out_dir / (path.name + ".utf8.csv")
    newline = None if lone_cr else ""  # None: universal newlines (\r, \r\n → \n)
    with path.open("rb") as raw, io.TextIOWrapper(raw, encoding=encoding, newline=newline) as src, \
            out.open("w", encoding="utf-8", newline="") as dst:
        first = True
        while text := src.read(CHUNK):
            if first:
                text = text.lstrip("\ufeff")
                first = False
            dst.write(text)
    return out


def _first_record(path: Path) -> str:
    """The header record (may span lines if a label is quoted with a newline)."""
    with path.open("r", encoding="utf-8", newline="") as fh:
        text = fh.read(1 << 16)
    lines = text.splitlines(keepends=True)
    record = ""
    for line in lines:
        record += line
        if record.count('"') % 2 == 0:
            break
    return record.rstrip("\r\n")


def strip_lines(path: Path, n: int, out_dir: Path) -> Path:
    """A copy of a UTF-8 file without its first n lines (streamed)."""
    out = out_dir / (path.name + f".skip{n}.csv")
    with path.open("rb") as src, out.open("wb") as dst:
        for _ in range(n):
            src.readline()
        shutil.copyfileobj(src, dst, CHUNK)
    return out


def detect_dialect(utf8_path: Path, encoding: str, known_labels: set[str]) -> Dialect:
    """Pick the delimiter that splits the header into the most known labels
    (then the most fields); parse the header with it."""
    record = _first_record(utf8_path)
    hint = SEP_HINT.fullmatch(record.splitlines()[0] if record else "")
    if hint:  # Excel's delimiter hint line: "sep=;" before the header
        with utf8_path.open("r", encoding="utf-8", newline="") as fh:
            fh.readline()
            header_line = fh.readline().rstrip("\r\n")
        fields = next(csv.reader(io.StringIO(header_line), delimiter=hint.group(1)), [])
        return Dialect(encoding, hint.group(1), [h.strip() for h in fields], skip_lines=1)
    delim, header = split_header(record, known_labels)
    return Dialect(encoding=encoding, delimiter=delim, header=header)


def split_header(record: str, known_labels: set[str]) -> tuple[str, list[str]]:
    """The delimiter that splits a header record into the most known labels (then the
    most fields), and the header's fields."""
    from pipelines.formats.profiles import normalise_label

    best: tuple[tuple[int, int], str, list[str]] | None = None
    for delim in DELIMITERS:
        fields = next(csv.reader(io.StringIO(record), delimiter=delim), [])
        score = (sum(normalise_label(f) in known_labels for f in fields), len(fields))
        if best is None or score > best[0]:
            best = (score, delim, fields)
    assert best is not None
    _, delim, header = best
    return delim, [h.strip() for h in header]
