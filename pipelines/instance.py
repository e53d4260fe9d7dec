"""The Dagster instance's event log: Dagster's SQLite storage, with its database engines kept.

Dagster's `SqliteEventLogStorage` builds a new SQLAlchemy engine, opens a new SQLite
connection and disposes of both for every event it stores, and stores an asset event or
check result twice (the run's database and the index database): 5-8 ms per event. A run
of this project stores ~640 events (a planned event and a result for each of ~60 assets
and ~160 checks, step and log events), about 3-5 s of every run spent opening and
closing files (cProfile of a run on the demo data; design note 32). This subclass keeps
one engine per database file for the life of the process and otherwise stores exactly
what Dagster's does, in the same files: runs written before and after it read the same,
and the webserver, the daemon and `dagster job execute` can use it side by side
(SQLite's WAL mode and busy timeout, as before; no connection holds a transaction
between events).

`.dagster/dagster.yaml` selects it (`event_log_storage`); the run and schedule storage
stay Dagster's defaults. It overrides `_connect`, a private method of the pinned Dagster
version (requirements.lock); `tests/unit/test_instance.py` fails if that changes.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

from pipelines.errors import ConfigError

# A run uses two database files (its own and the index); the webserver reads many runs'
# files, so only the most recently used engines stay open (each holds one file handle).
KEEP_ENGINES = 8


class KundenOrbitEventLogStorage(SqliteEventLogStorage):
    """Dagster's SQLite event log storage with one kept engine per database file."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        # before Dagster's __init__, which already connects (its index migrations)
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_pid = os.getpid()
        super().__init__(base_dir, inst_data=inst_data)

    @classmethod
    def config_type(cls):
        # where Dagster's default keeps the event logs: $DAGSTER_HOME/history/runs/
        return {"base_dir": dg.Field(dg.StringSource, is_required=False)}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        base_dir = (config_value or {}).get("base_dir")
        if not base_dir:
            home = os.environ.get("DAGSTER_HOME")
            if not home:
                raise ConfigError("DAGSTER_HOME is not set: the Dagster instance "
                                  "(.dagster/dagster.yaml) keeps its event log under it")
            base_dir = os.path.join(os.path.abspath(os.path.expanduser(home)), "history", "runs", "")
        return cls(base_dir, inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        if self._engines_pid != os.getpid():
            # a forked child must not share its parent's open SQLite connections
            self._engines = OrderedDict()
            self._engines_pid = os.getpid()
        engine = self._engines.get(shard)
        if engine is None:
            # one connection stays open; Dagster's _initdb opens a second one at a time
            engine = create_engine(
                self.conn_string_for_shard(shard),
                poolclass=QueuePool, pool_size=1, max_overflow=4,
                connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            )
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            self._engines[shard] = engine
            while len(self._engines) > KEEP_ENGINES:
                _, oldest = self._engines.popitem(last=False)
                oldest.dispose()
        else:
            self._engines.move_to_end(shard)
        return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        # as Dagster's: one transaction per call, under the storage's lock (which is what
        # lets one pooled connection per file serve every call of this process)
        with self._db_lock, self._engine(shard).connect() as conn, conn.begin():
            yield conn

    def dispose(self) -> None:
        with self._db_lock:
            for engine in self._engines.values():
                engine.dispose()
            self._engines.clear()
        super().dispose()
