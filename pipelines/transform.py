"""dbt models as Dagster assets; dbt tests surface as Dagster asset checks."""


import os
import re
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import (
    DagsterDbtTranslator,
    DagsterDbtTranslatorSettings,
    DbtCliResource,
    DbtProject,
    dbt_assets,
)

from pipelines.dbt import dbt_project
from pipelines.errors import ConfigError
from pipelines.incremental import (
    changed_raw_tables,
    full_refresh_reason,
    read_ledger,
    record_build,
    step_key,
)
from pipelines.ingest.assets import raw_key
from pipelines.locking import build_lock
from pipelines.resources import KundenOrbitResource

SEEDS_AFTER = raw_key("shop__orders")
# dbt step folders (target/<op>-<run>-<id>/: compiled SQL, run_results.json, dbt.log) kept
# from earlier runs, besides every folder of the current run: two runs of two steps.
KEEP_TARGET_DIRS = 4
STEP_FOLDER = re.compile(r"(?P<op>\w+)-(?P<run>[0-9a-f]{7})-[0-9a-f]{7}")
# Models that read the environment or the clock, not only their inputs: always built.
# int_analysis_date is the one place the as-of date is decided (design note 5).
READS_ENVIRONMENT = frozenset({"int_analysis_date"})


class KundenOrbitDbtTranslator(DagsterDbtTranslator):
    """dbt sources are the ingest assets (`raw/<source>__<entity>`) or the Python model
    assets (`models/<table>`); models are grouped by layer (staging, intermediate, marts)."""

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        if dbt_resource_props["resource_type"] == "source":
            # source `models` = tables written by Python model assets (pipelines/models/)
            prefix = "models" if dbt_resource_props["source_name"] == "models" else "raw"
            return dg.AssetKey([prefix, dbt_resource_props["identifier"]])
        return super().get_asset_key(dbt_resource_props)

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str,
                       project: DbtProject | None) -> dg.AssetSpec:
        """Seeds (config tables) are ordered after the shop's ingest. Dagster splits a
        dbt multi-asset into one step per "colour" of its dependency graph, and roots
        with no upstream asset get a colour of their own: without this edge the seeds
        were a third `dbt build` of their own, one more dbt start-up (6-7 s) per run
        (design note 20). The edge orders, it does not mean the seeds read raw data."""
        spec = super().get_asset_spec(manifest, unique_id, project)
        if unique_id.startswith("seed."):
            spec = spec.merge_attributes(deps=[SEEDS_AFTER])
        return spec

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        fqn = dbt_resource_props.get("fqn", [])
        if dbt_resource_props["resource_type"] == "seed":
            return "config"
        return fqn[1] if len(fqn) > 2 else "marts"


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=KundenOrbitDbtTranslator(
        settings=DagsterDbtTranslatorSettings(enable_asset_checks=True)
    ),
)
def kundenorbit_dbt_models(
    context: dg.AssetExecutionContext,
    dbt: DbtCliResource,
    kundenorbit: KundenOrbitResource,
):
    """`dbt build`: seeds, models and tests, into the working database."""
    settings = kundenorbit.settings()
    # dbt runs as a subprocess that inherits this environment (profiles.yml reads it)
    os.environ.update(settings.dbt_env())
    with build_lock(settings.build_db, on_wait=context.log.warning):
        step = step_key(context.selected_asset_keys)
        ledger = read_ledger(settings)
        reason = full_refresh_reason(settings, step, ledger)
        if reason:
            context.log.info(f"dbt: full refresh ({reason})")
        else:
            context.log.info("dbt: incremental (only new export files since the last build)")
        args = ["build", "--threads", str(build_threads())] + (["--full-refresh"] if reason else [])
        unchanged: list[dg.AssetKey] = []
        if not reason:
            # dbt unit tests check the SQL on fixed inputs written in the project: with the
            # code of the last build (else this would be a full refresh) they give what they
            # gave then. They run in every full refresh, i.e. whenever the code changed.
            args += ["--exclude-resource-type", "unit_test"]
            unchanged, tests = unchanged_nodes(context.selected_asset_keys,
                                               context.selected_asset_check_keys,
                                               changed_raw_tables(settings, step, ledger))
            if unchanged:
                names = [dbt_name(key) for key in unchanged]
                context.log.info(f"dbt: not rebuilt, their inputs are unchanged since the last "
                                 f"build: {', '.join(names)} (and their {len(tests)} tests)")
                args += ["--exclude", " ".join([*names, *tests])]  # one value: dbt splits it
        # Dagster skips every step downstream of an output that was not yielded: the
        # unchanged tables are reported as current (their last build still holds), first,
        # as nothing they depend on is built in this step
        for key in unchanged:
            yield dg.MaterializeResult(asset_key=key, metadata={
                "rebuilt": False, "why": "inputs unchanged since the last build (design note 25)"})
        invocation = dbt.cli(args, context=context)
        yield from invocation.stream()
        record_build(settings, step, ledger)
        # under the build lock: no other step is writing into a folder it may remove
        prune_target_dirs(dbt_project.project_dir / invocation.target_path)
    keep_partial_parse(invocation.target_path)


def dbt_name(key: dg.AssetKey) -> str:
    """The dbt node name of a dbt asset (models are selected by name)."""
    return kundenorbit_dbt_models.specs_by_key[key].metadata["dagster_dbt/unique_id"].split(".")[-1]


def unchanged_nodes(asset_keys, check_keys,
                    changed_tables: set[str] | None) -> tuple[list[dg.AssetKey], list[str]]:
    """dbt models and tests of an incremental step whose inputs are what they were at the
    step's last build (design note 25): no raw table upstream got a new file, every
    model upstream is unchanged too, and none reads the environment (the analysis date).
    Their tables are then exactly what a rebuild would write, and their tests passed on
    exactly those rows. Seeds are always unchanged here: their content is part of the code
    fingerprint, and new code means a full refresh. `changed_tables` None = unknown:
    nothing is skipped. Returns (the models' asset keys, the tests' dbt names)."""
    if changed_tables is None:
        return [], []
    specs = kundenorbit_dbt_models.specs_by_key
    selected = set(asset_keys)
    memo: dict[dg.AssetKey, bool] = {}

    def is_unchanged(key: dg.AssetKey) -> bool:
        if key not in memo:
            spec = specs.get(key)
            if spec is None:  # an ingest asset (raw table) or a Python model's output
                memo[key] = key.path[0] == "raw" and key.path[-1] not in changed_tables
            elif spec.metadata.get("dagster-dbt/materialization_type") == "seed":
                memo[key] = True
            else:
                memo[key] = (key in selected and dbt_name(key) not in READS_ENVIRONMENT
                             and all(is_unchanged(dep.asset_key) for dep in spec.deps))
        return memo[key]

    nodes = {key for key in selected if key in specs and is_unchanged(key)}
    checks = set(check_keys)
    tests = sorted(spec.name for spec in kundenorbit_dbt_models.check_specs
                   if spec.key in checks and spec.asset_key in nodes
                   and all(is_unchanged(dep.asset_key) for dep in spec.additional_deps))
    ordered: list[dg.AssetKey] = []  # dependencies first (Dagster wants that order)
    left = sorted(nodes, key=dbt_name)
    while left:
        ready = [k for k in left if not any(d.asset_key in nodes and d.asset_key not in ordered
                                            for d in specs[k].deps)] or left  # (a DAG)
        ordered += ready
        left = [k for k in left if k not in ready]
    return ordered, tests


def build_threads() -> int:
    """dbt threads for every build: two on a machine with two cores or more. What an
    incremental build runs are ~1 M-row customer tables and many small tests, where a
    second thread overlaps dbt's own per-node work with DuckDB's (design note 24); a full
    refresh builds two event-level models side by side, 9-13 s less on the 1 M-customer
    set with peak memory unchanged (design note 31). Both threads share one DuckDB
    instance and its memory_limit, which spills beyond it. KUNDENORBIT_DBT_THREADS=1
    builds one model at a time."""
    value = os.environ.get("KUNDENORBIT_DBT_THREADS", "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ConfigError(f"KUNDENORBIT_DBT_THREADS={value!r}: expected a whole number ≥ 1")
        return int(value)
    return max(1, min(2, os.cpu_count() or 1))


def keep_partial_parse(target_path) -> None:
    """Every dbt step runs in its own target folder, seeded by dagster-dbt with
    target/partial_parse.msgpack. That file comes from `make manifest`, whose profile
    (the relative build path) differs from the run's, so each step re-parsed the whole
    project (~6 s). Hand the run's parse state back: the next step and the next run
    parse only what changed (dbt still checks every file's hash and the profile)."""
    produced = dbt_project.project_dir / target_path / "partial_parse.msgpack"
    if not produced.exists():
        return
    shared = dbt_project.project_dir / "target" / "partial_parse.msgpack"
    tmp = shared.with_name(f".partial_parse.{os.getpid()}.tmp")
    try:
        shutil.copyfile(produced, tmp)
        os.replace(tmp, shared)
    except OSError:  # an optimisation only; never fail a build over it
        tmp.unlink(missing_ok=True)


def prune_target_dirs(current, keep: int = KEEP_TARGET_DIRS) -> list:
    """dagster-dbt gives every dbt step its own folder, `target/<op>-<run id>-<random>/`
    (the op is `kundenorbit_dbt_models`, `kundenorbit_dbt_models_2`, … one per step),
    ~7 MB each, and never removes one: a daily schedule grew the project by ~14 MB a day
    (4 GB after the bench rounds). After a step, keep every folder of the current run
    (`make bench` reads their run_results.json after the job) and the newest `keep` of
    earlier runs, for looking into the last builds; remove the others. Other entries of
    target/ (manifest, docs, `make manifest`'s compiled/) are not step folders and stay.
    Returns the removed folders."""
    current = Path(current)
    run = STEP_FOLDER.fullmatch(current.name)["run"]
    earlier = []
    for path in current.parent.iterdir():
        match = STEP_FOLDER.fullmatch(path.name)
        if match and match["run"] != run and path.is_dir():
            earlier.append((path.stat().st_mtime, path))
    earlier.sort(reverse=True)
    removed = [path for _, path in earlier[keep:]]
    for path in removed:
        shutil.rmtree(path, ignore_errors=True)
    return removed
