"""Schedule and file sensor for the main job."""

from __future__ import annotations

import hashlib

import dagster as dg

from pipelines.ingest.loader import discover
from pipelines.settings import SOURCES, load_settings


def raw_fingerprint() -> str:
    """Hash of (path, size, mtime) of every export file: changes when files do."""
    settings = load_settings()
    h = hashlib.sha256()
    for source in SOURCES:
        for path in discover(settings.raw_dir / source):
            st = path.stat()
            h.update(f"{path.relative_to(settings.raw_dir)}|{st.st_size}|{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def build_schedule_and_sensor(job: dg.UnresolvedAssetJobDefinition):
    @dg.schedule(
        name="daily_refresh",
        job=job,
        cron_schedule="0 6 * * *",
        execution_timezone="Europe/Berlin",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Daily rebuild at 06:00 Berlin time, skipped when the published warehouse "
        "was built from the current exports, code and settings (pipelines/uptodate.py).",
    )
    def schedule(context: dg.ScheduleEvaluationContext):
        from pipelines.uptodate import check

        fresh, why = check(load_settings())
        if fresh:
            return dg.SkipReason(why)
        return dg.RunRequest()

    @dg.sensor(
        name="raw_files_sensor",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts the job when export files in data/raw/ are added or changed.",
    )
    def raw_files_sensor(context: dg.SensorEvaluationContext):
        fingerprint = raw_fingerprint()
        if fingerprint == context.cursor:
            return dg.SkipReason("no new or changed export files")
        context.update_cursor(fingerprint)
        return dg.RunRequest(run_key=fingerprint)

    return schedule, raw_files_sensor
