"""Erasure requests (Art. 17 GDPR): remove a person everywhere KundenOrbit keeps data.

`kundenorbit erase ADDRESS …` (README §Erasure; `make erase EMAIL=…` also rebuilds):

1. **Register.** Each address goes into the erasure register (`data/erasures.json`) as a
   salted SHA-256 of its normalised form (trimmed, lower-cased: the identity rule), never
   as the address itself. The register's salt is its own, so it survives `make clean`.
   The loader applies the register to every file it reads from then on: rows of an
   erased address are neither loaded nor quarantined, only counted (ledger column
   `rows_erased`). An export downloaded again from a tool that still holds the person
   cannot bring them back.
2. **Raw exports.** Every export file in the raw folder (and in ZIP archives) that names
   the address is rewritten without the person's records: the record that holds the
   address, the other line items of their Shopify orders (continuation rows carry the
   order's `Name`, not the e-mail) and the HubSpot tickets associated with their
   contact record. Everything else keeps its bytes: encoding, BOM, delimiter, quoting,
   line ends. The contact's Record ID goes into the register too (salted hash), so
   tickets exported later are filtered as well.
3. **Derived data.** The working database and the analysts' models' file next to it
   (with every free block that may still hold old rows), the published file and the
   audience CSVs are deleted, not edited: the next run rebuilds them from the cleaned
   exports. Until then there is no published file, rather than one that still names the
   person.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import re
import secrets
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.errors import ConfigError
from pipelines.formats.dialect import SEP_HINT, detect_encoding, split_header
from pipelines.formats.profiles import best_profile, profiles_for
from pipelines.settings import SOURCES, Settings

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
# an e-mail address inside free text (a CSV line, a message); Python re and DuckDB's RE2
# read it alike. Used to mask addresses (publish, quality) and to find them (loader).
EMAIL_IN_TEXT = r"""[^\s,;'"<>|()\[\]]+@[^\s,;'"<>|()\[\]]+"""
REGISTER_NOTE = ("KundenOrbit erasure register: people erased on request. Entries are "
                 "salted SHA-256 hashes (of the trimmed, lower-cased e-mail address or of "
                 "a HubSpot contact Record ID), never the address. Do not edit by hand; "
                 "use `kundenorbit erase`.")


def normalise(address: str) -> str:
    return address.strip().lower()


def salted(salt: str, value: str) -> str:
    return hashlib.sha256((salt + value).encode("utf-8")).hexdigest()


@dataclass
class Register:
    """The erasure register file: {kind: email | crm_contact, sha256, erased_at}."""

    path: Path
    salt: str
    entries: list[dict] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path) -> Register:
        if not path.exists():
            return cls(path, secrets.token_hex(16))
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(path, str(data["salt"]), list(data["entries"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{path}: not a KundenOrbit erasure register ({exc}); restore "
                              "it from your backup, erasures depend on it") from None

    def hashes(self, kind: str) -> set[str]:
        return {e["sha256"] for e in self.entries if e["kind"] == kind}

    def add(self, kind: str, value: str, when: str) -> bool:
        h = salted(self.salt, value)
        if h in self.hashes(kind):
            return False
        self.entries.append({"kind": kind, "sha256": h, "erased_at": when})
        return True

    def save(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"about": REGISTER_NOTE, "salt": self.salt,
                                   "entries": self.entries}, indent=1) + "\n",
                       encoding="utf-8")
        os.replace(tmp, self.path)


# ---------------------------------------------------------------- raw exports


MAX_RECORD = 4_000_000  # characters; the loader's max_line_size


def _records(text_lines):
    """CSV records as their original text (a quoted field may span lines). Lines that
    never close their quotes (a stray `"`), or that would make a record longer than
    MAX_RECORD, are given line by line: a broken quote must not turn the rest of a
    file into one "record" that goes as a whole when it names the person."""
    lines: list[str] = []
    size = quotes = 0
    for line in text_lines:
        lines.append(line)
        size += len(line)
        quotes += line.count('"')
        if quotes % 2 == 0:
            yield "".join(lines)
            lines, size, quotes = [], 0, 0
        elif size > MAX_RECORD:
            yield from lines
            lines, size, quotes = [], 0, 0
    yield from lines


def _fields(record: str, delimiter: str) -> list[str]:
    return next(csv.reader(io.StringIO(record), delimiter=delimiter), [])


@dataclass
class Linked:
    """Keys found while scrubbing that tie other records to an erased person."""

    contact_ids: set[str] = field(default_factory=set)


def _head(records, source: str) -> tuple[list[str], list[str], str]:
    """Consume the header record (and Excel's "sep=;" line before it) → (their text,
    header fields, delimiter), decided as the loader decides it (`formats.dialect`)."""
    head: list[str] = []
    for rec in records:
        head.append(rec)
        line = rec.strip().lstrip("\ufeff")
        hint = SEP_HINT.fullmatch(head[0].lstrip("\ufeff"))
        if hint and len(head) == 1:
            continue
        if hint:
            return head, [h.strip() for h in _fields(line, hint[1])], hint[1]
        known = {k for p in profiles_for(source) for f in p.fields for k in f.label_keys()}
        delimiter, header = split_header(line, known)
        return head, header, delimiter
    return head, [], ","


class Matcher:
    """Finds the erased addresses as whole tokens in any case. A block of text is first
    searched for the plain lower-cased addresses (fast, in C); only a block with a hit
    goes through the regular expression, so clean parts of a 2 GB export are not
    scanned position by position."""

    def __init__(self, addresses: list[str]):
        self.needles = sorted({normalise(a) for a in addresses})
        self.pattern = address_pattern(self.needles)

    def search(self, text: str) -> bool:
        low = text.lower()
        return any(n in low for n in self.needles) and self.pattern.search(text) is not None


BLOCK = 1 << 23  # characters per block


def _blocks(fh):
    """The rest of the file in blocks of whole records (cut after a line end with an
    even number of quotes before it, so no quoted field is split)."""
    carry = ""
    while chunk := fh.read(BLOCK):
        text = carry + chunk
        quotes, end, cut = text.count('"'), len(text), -1
        while (pos := text.rfind("\n", 0, end)) != -1:
            quotes -= text.count('"', pos + 1, end)  # quotes up to and including pos
            if quotes % 2 == 0:
                cut = pos
                break
            end = pos
        if cut == -1 and len(text) > 8 * BLOCK:  # quotes never close: cut at a line end
            cut = text.rfind("\n")
        if cut == -1:
            carry = text
            continue
        yield text[:cut + 1]
        carry = text[cut + 1:]
    if carry:
        yield carry


def scrub_text_file(src: Path, dst: Path, source: str, matcher: Matcher,
                    linked: Linked, mentions: bool = True, encoding: str | None = None) -> int:
    """Copy `src` to `dst` without the records of the erased people → records dropped
    (0: nothing to drop; `dst` may then be missing). mentions=False: the file does not
    name an address (only tickets of an erased contact can go).
    Blocks without an address (or a linked order or contact) are copied as they are;
    only the others are split into records."""
    encoding = encoding or detect_encoding(src)
    dropped = 0
    with src.open("r", encoding=encoding, newline="") as fh:
        head, header, delimiter = _head(_records(fh), source)
        profile, mapping = best_profile(source, header) if header else (None, {})
        entity = profile.entity if profile else None
        order_col = mapping.get("order_name") if entity == "orders" else None
        id_col = mapping.get("record_id") if entity == "contacts" else None
        assoc_col = mapping.get("associated_contact_ids") if entity == "tickets" else None
        if not mentions and (assoc_col is None or not linked.contact_ids):
            return 0
        erased_orders: set[str] = set()
        with dst.open("w", encoding=encoding, newline="") as out:
            out.write("".join(head))
            for block in _blocks(fh):
                if (assoc_col is None and not matcher.search(block)
                        and not any(o in block for o in erased_orders)):
                    out.write(block)
                    continue
                for rec in _records(io.StringIO(block, newline="")):
                    drop = matcher.search(rec)
                    if not drop and order_col is None and assoc_col is None:
                        out.write(rec)
                        continue
                    cells = _fields(rec, delimiter)
                    if drop:
                        if order_col is not None and order_col < len(cells) \
                                and cells[order_col].strip():
                            erased_orders.add(cells[order_col].strip())
                        if id_col is not None and id_col < len(cells) and cells[id_col].strip():
                            linked.contact_ids.add(cells[id_col].strip())
                    elif order_col is not None and order_col < len(cells):
                        drop = cells[order_col].strip() in erased_orders
                    elif assoc_col is not None and assoc_col < len(cells):
                        ids = {i for i in re.split(r"[^0-9A-Za-z]+", cells[assoc_col]) if i}
                        drop = bool(ids & linked.contact_ids)
                    if drop:
                        dropped += 1
                    else:
                        out.write(rec)
    return dropped


def _mentions(path: Path, matcher: Matcher, encoding: str) -> bool:
    """Quick test: does the file name an erased address at all? (streamed)"""
    tail = ""
    with path.open("r", encoding=encoding, newline="") as fh:
        while chunk := fh.read(BLOCK):
            text = tail + chunk
            if matcher.search(text):
                return True
            tail = text[-512:]
    return False


def _entity(path: Path, source: str, encoding: str) -> str | None:
    with path.open("r", encoding=encoding, newline="") as fh:
        _, header, _ = _head(_records(fh), source)
    profile, _ = best_profile(source, header) if header else (None, {})
    return profile.entity if profile else None


def _scrub_in_place(path: Path, source: str, matcher: Matcher, linked: Linked,
                    encoding: str) -> int:
    """Rewrite `path` without the people (atomically) → records dropped; a file that
    names nobody erased (and holds no ticket of an erased contact) is not rewritten."""
    mentions = _mentions(path, matcher, encoding)
    if not mentions and not linked.contact_ids:
        return 0
    clean = path.with_name(f".{path.name}.{os.getpid()}.erase.tmp")
    try:
        n = scrub_text_file(path, clean, source, matcher, linked, mentions, encoding)
        if n > 0:
            os.replace(clean, path)
        return n
    finally:
        clean.unlink(missing_ok=True)


def scrub_exports(folder: Path, source: str, addresses: list[str], linked: Linked) -> dict[str, int]:
    """Rewrite every export file in `folder` (and every CSV in its ZIP archives) without
    the people → {file: records dropped}. Each file is read for its encoding and header
    once; HubSpot contact exports go first, as their Record IDs decide which tickets go."""
    from pipelines.ingest.loader import discover

    matcher = Matcher(addresses)
    dropped: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="kundenorbit-erase-") as tmp:
        texts: list[tuple[str, Path]] = []   # (name in the report, text file to scrub)
        zips: dict[Path, list[tuple[zipfile.ZipInfo, Path | None]]] = {}
        for path in discover(folder):
            rel = path.relative_to(folder.parent).as_posix()
            if path.suffix.lower() != ".zip":
                texts.append((rel, path))
                continue
            with zipfile.ZipFile(path) as zf:
                members = zips[path] = []
                for m in zf.infolist():
                    target = None
                    if not m.is_dir():
                        target = Path(tmp) / f"m{len(texts)}-{len(members)}"
                        with zf.open(m) as src, target.open("wb") as dst:
                            shutil.copyfileobj(src, dst)
                        if Path(m.filename).suffix.lower() in {".csv", ".txt", ".tsv"}:
                            texts.append((f"{rel}!{m.filename}", target))
                    members.append((m, target))
        found = []
        for name, path in texts:
            encoding = detect_encoding(path)
            found.append((_entity(path, source, encoding) != "contacts", name, path, encoding))
        for _, name, path, encoding in sorted(found, key=lambda x: x[0]):
            n = _scrub_in_place(path, source, matcher, linked, encoding)
            if n > 0:
                dropped[name] = n
        for path, members in zips.items():
            rel = path.relative_to(folder.parent).as_posix()
            if not any(name.startswith(f"{rel}!") for name in dropped):
                continue
            out_path = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            with zipfile.ZipFile(out_path, "w") as out:
                for m, target in members:
                    if target is None:
                        out.writestr(m, b"")
                    else:
                        out.write(target, arcname=m.filename, compress_type=m.compress_type)
            os.replace(out_path, path)
    return dropped


def address_pattern(addresses: list[str]) -> re.Pattern:
    """The addresses as whole tokens, any case (`ann@x.de` does not match `joann@x.de`)."""
    alternatives = "|".join(re.escape(a) for a in sorted(set(addresses), key=len, reverse=True))
    return re.compile(rf"(?<![\w.+\-@])(?:{alternatives})(?![\w\-@]|\.\w)", re.IGNORECASE)


# ---------------------------------------------------------------- the request


@dataclass
class ErasureResult:
    addresses: int
    new_in_register: int
    records_dropped: dict[str, int]
    deleted: list[str]


def erase(settings: Settings, addresses: list[str]) -> ErasureResult:
    """Carry out an erasure request (module docstring). Does not rebuild."""
    clean = [normalise(a) for a in addresses]
    bad = [a for a, c in zip(addresses, clean, strict=True) if not EMAIL.fullmatch(c)]
    if bad:
        raise ConfigError(f"not an e-mail address: {', '.join(repr(b) for b in bad)}; erasure "
                          "works by the address the person used (shop, CRM or newsletter)")
    from pipelines.locking import build_lock

    settings.build_db.parent.mkdir(parents=True, exist_ok=True)
    with build_lock(settings.build_db):
        register = Register.load(settings.erasure_register)
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        new = sum(register.add("email", c, when) for c in clean)
        register.save()  # first: whatever happens next, the loader already filters them
        linked = Linked()
        dropped: dict[str, int] = {}
        for source in SOURCES:
            dropped.update(scrub_exports(settings.raw_dir / source, source, clean, linked))
        truth = settings.home / "data" / "demo_truth"
        matcher = Matcher(clean)
        for path in sorted(truth.glob("*.csv")):  # the demo's answer key also names people
            if n := _scrub_in_place(path, "shop", matcher, Linked(), detect_encoding(path)):
                dropped[f"demo_truth/{path.name}"] = n
        for cid in sorted(linked.contact_ids):
            register.add("crm_contact", cid, when)
        register.save()
        deleted = []
        for path in (settings.warehouse, settings.warehouse.with_name(settings.warehouse.name + ".wal")):
            if path.exists():
                path.unlink()
                deleted.append(str(path))
        if settings.build_db.parent.exists():
            for path in sorted(settings.build_db.parent.iterdir()):
                # the working database and the analysts' models: file, .wal, spill dir
                if path.name.startswith((settings.build_db.name, settings.analysts_db.name)):
                    if path.is_dir():
                        shutil.rmtree(path)
                    else:
                        path.unlink()
                    deleted.append(str(path))
        if settings.exports_dir.exists():
            for path in sorted(settings.exports_dir.glob("*.csv")):
                path.unlink()
                deleted.append(str(path))
    return ErasureResult(len(clean), new, dropped, deleted)


__all__ = ["Matcher", "Register", "erase", "normalise", "salted", "scrub_exports", "scrub_text_file"]
