"""One writer at a time on the working database.

DuckDB lets one process write a file and blocks every other process, so two runs
started at once (schedule + sensor, or `make run` while the UI runs a job) would fail
with a lock error halfway. Every step that writes the working database takes this
lock first: a second run waits (logging that it waits) and then proceeds, or, after
KUNDENORBIT_LOCK_TIMEOUT seconds (default 3600), fails with a message that says why.
The kernel releases the lock when a process dies, so a killed run never leaves it held.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.errors import KundenOrbitError


class BuildLockedError(KundenOrbitError):
    """Another run kept the working database for longer than the timeout."""


@contextmanager
def build_lock(
    build_db: Path,
    timeout_s: float | None = None,
    on_wait: Callable[[str], None] | None = None,
) -> Iterator[None]:
    """Hold the exclusive lock `<build dir>/build.lock` for the duration of the block."""
    timeout = float(os.environ.get("KUNDENORBIT_LOCK_TIMEOUT", 3600)) if timeout_s is None \
        else timeout_s
    build_db.parent.mkdir(parents=True, exist_ok=True)
    path = build_db.parent / "build.lock"
    with path.open("a+") as fh:
        start = time.monotonic()
        told = False
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                waited = time.monotonic() - start
                if waited >= timeout:
                    msg = (f"another KundenOrbit run is still using {build_db} after "
                           f"{waited:.0f} s of waiting; this run stops without changing "
                           f"anything. Let the other run finish, then start again.")
                    raise BuildLockedError(msg) from None
                if not told and on_wait:
                    on_wait(f"another run is using {build_db}; waiting for it to finish")
                    told = True
                time.sleep(0.5)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(f"pid {os.getpid()}\n")
            fh.flush()
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
