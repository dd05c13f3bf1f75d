"""Import benchmark: our importer against the raw ceilings and django-import-export, in one run.

    .venv/bin/python bench/run.py                      # 1,000,000 rows, SQLite and PostgreSQL
    .venv/bin/python bench/run.py --rows 20000 --slice-rows 5000 --reps 1   # a quick check

Every measurement runs in a fresh child process (this script with --child), so its peak RSS
(`ru_maxrss` from `os.wait4`) is its own, and on a fresh database copied from a template that
holds the migrated schema and the benchmark territory. Results go to bench/out/results-<ts>.json
and a Markdown table is printed; `--render FILE` prints the table of an earlier run.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
DATA = BENCH / "data"
OUT = BENCH / "out"
sys.path.insert(0, str(BENCH))

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_TEMPLATE = "cg_bench_template"
PG_DB = "cg_bench"
PERSON_COLUMNS = (
    "id_number",
    "name",
    "sex",
    "birth_date",
    "phone",
    "address_node_id",
    "scope_path",
    "address",
    "deleted_reason",
    "created_at",
    "updated_at",
)
SEX = {"男": "M", "女": "F"}
FLOORS = {"csv": 20_000, "xlsx": 10_000}
PEAK_FLOOR_MIB = 1024
RATIO_FLOOR = 10.0
RAW_TASK = {"sqlite": "sqlite_executemany", "postgresql": "pg_copy"}  # the bare-insert ceiling per database


# --------------------------------------------------------------------------------------------
# Children: each measures one thing and prints one line "RESULT {json}".
# --------------------------------------------------------------------------------------------


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _django() -> None:
    import django

    django.setup()


def _node_map_sql(cursor: Any) -> dict[str, tuple[int, str]]:
    cursor.execute("SELECT code, id, path FROM territory_node")
    return {code: (pk, path) for code, pk, path in cursor.fetchall()}


def _person_tuples(path: str, nodes: dict[str, tuple[int, str]]) -> list[tuple[Any, ...]]:
    """Rows of the CSV as insert-ready tuples (rows with an unknown grid are left out)."""
    now = dt.datetime.now(dt.UTC)
    out = []
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        for id_number, name, sex, birth, phone, grid, address in reader:
            node = nodes.get(grid)
            if node is None:
                continue
            out.append((id_number, name, SEX[sex], birth, phone, node[0], node[1], address, "", now, now))
    return out


def child_setup(spec: dict[str, Any]) -> dict[str, Any]:
    _django()
    import generate
    import territory
    from django.core.management import call_command
    from django.db import connection

    from civicgrid.ingest.registry import get_schema

    # The generated files must carry the schema's canonical headers, or the benchmark measures nothing.
    canonical = tuple(column.label for column in get_schema("people.person").columns)
    if canonical != generate.HEADERS:
        raise RuntimeError(f"generated headers {generate.HEADERS} differ from the schema's {canonical}")
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    nodes = territory.create()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            cursor.execute("ANALYZE")
    return {"nodes": nodes, "seconds": time.perf_counter() - started}


def child_sqlite_executemany(spec: dict[str, Any]) -> dict[str, Any]:
    import sqlite3

    connection = sqlite3.connect(spec["db_path"], isolation_level=None)
    # The same pragmas as the application's SQLite settings.
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    if spec.get("cache_kib"):
        # The page cache the importer itself sets on SQLite (ingest.services.SQLITE_IMPORT_CACHE_KIB).
        connection.execute(f"PRAGMA cache_size = -{int(spec['cache_kib'])}")
    if spec.get("drop_indexes"):
        # The reference variant: secondary indexes dropped, the UNIQUE(id_number) autoindex kept.
        names = connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'people_person' AND sql IS NOT NULL"
        ).fetchall()
        for (name,) in names:
            connection.execute(f'DROP INDEX "{name}"')
    rows = _person_tuples(spec["file"], _node_map_sql(connection.cursor()))
    rows = [
        (*row[:9], row[9].isoformat(" ").replace("+00:00", ""), row[10].isoformat(" ").replace("+00:00", ""))
        for row in rows
    ]
    # Column names are this module's constants, not input.
    sql = f"INSERT INTO people_person ({', '.join(PERSON_COLUMNS)}) VALUES ({', '.join('?' * len(PERSON_COLUMNS))})"  # noqa: S608
    started = time.perf_counter()
    connection.execute("BEGIN IMMEDIATE")
    connection.executemany(sql, rows)
    connection.execute("COMMIT")
    seconds = time.perf_counter() - started
    (count,) = connection.execute("SELECT count(*) FROM people_person").fetchone()
    return {"rows": len(rows), "seconds": seconds, "db_rows": count}


def child_pg_copy(spec: dict[str, Any]) -> dict[str, Any]:
    import psycopg

    with psycopg.connect(spec["dsn"]) as connection:
        with connection.cursor() as cursor:
            if spec.get("drop_indexes"):
                # The reference variant: indexes that back no constraint dropped (pk and UNIQUE kept).
                cursor.execute(
                    "SELECT indexname FROM pg_indexes WHERE tablename = 'people_person' AND indexname NOT IN "
                    "(SELECT conname FROM pg_constraint WHERE conrelid = 'people_person'::regclass)"
                )
                for (name,) in cursor.fetchall():
                    cursor.execute(f'DROP INDEX "{name}"')  # type: ignore[arg-type]
            rows = _person_tuples(spec["file"], _node_map_sql(cursor))
        connection.commit()
        started = time.perf_counter()
        copy_sql = f"COPY people_person ({', '.join(PERSON_COLUMNS)}) FROM STDIN"
        with connection.cursor() as cursor, cursor.copy(copy_sql) as copy:  # type: ignore[arg-type]
            for row in rows:
                copy.write_row(row)
        connection.commit()
        seconds = time.perf_counter() - started
        (count,) = connection.execute("SELECT count(*) FROM people_person").fetchone()  # type: ignore[misc]
    return {"rows": len(rows), "seconds": seconds, "db_rows": count}


def child_parse_calamine(spec: dict[str, Any]) -> dict[str, Any]:
    from python_calamine import CalamineWorkbook

    started = time.perf_counter()
    sheet = CalamineWorkbook.from_path(spec["file"]).get_sheet_by_index(0)
    count = sum(1 for _ in sheet.iter_rows()) - 1
    return {"rows": count, "seconds": time.perf_counter() - started}


def child_parse_csv(spec: dict[str, Any]) -> dict[str, Any]:
    started = time.perf_counter()
    with open(spec["file"], encoding="utf-8-sig", newline="") as handle:
        count = sum(1 for _ in csv.reader(handle)) - 1
    return {"rows": count, "seconds": time.perf_counter() - started}


def child_bulk_create(spec: dict[str, Any]) -> dict[str, Any]:
    """A plain importer: read the CSV, check each ID number, bulk_create in batches of 5,000."""
    _django()
    from django.db import transaction

    from civicgrid.core import idnumber
    from civicgrid.people.models import Person
    from civicgrid.territory.models import Node

    nodes = {node.code: node for node in Node.objects.all()}
    created = rejected = 0
    started = time.perf_counter()
    with transaction.atomic(), open(spec["file"], encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        next(reader)
        batch: list[Person] = []
        for id_number, name, _sex, _birth, phone, grid, address in reader:
            node = nodes.get(grid)
            try:
                parsed = idnumber.parse(id_number)
            except idnumber.InvalidIdNumber:
                rejected += 1
                continue
            if node is None:
                rejected += 1
                continue
            batch.append(
                Person(
                    id_number=parsed.value,
                    name=name,
                    sex=parsed.sex,
                    birth_date=parsed.birth_date,
                    phone=phone,
                    address_node=node,
                    scope_path=node.path,
                    address=address,
                )
            )
            if len(batch) == 5000:
                Person.objects.bulk_create(batch)
                created += len(batch)
                batch = []
        Person.objects.bulk_create(batch)
        created += len(batch)
    seconds = time.perf_counter() - started
    return {
        "rows": created + rejected,
        "created": created,
        "rejected": rejected,
        "seconds": seconds,
        "db_rows": Person.objects.count(),
    }


def child_ours(spec: dict[str, Any]) -> dict[str, Any]:
    _django()
    try:
        from civicgrid.ingest.services import run_import
    except ImportError as exc:
        raise RuntimeError(
            f"import framework not available: civicgrid.ingest.services.run_import ({exc})"
        ) from exc
    from civicgrid.people.models import Person

    baseline_mib = _vm_hwm_mib()
    started = time.perf_counter()
    job = run_import(actor=None, schema="people.person", path=Path(spec["file"]), dry_run=False)
    seconds = time.perf_counter() - started
    import civicgrid

    result = {
        "seconds": seconds,
        "baseline_hwm_mib": baseline_mib,
        "db_rows": Person.objects.count(),
        "civicgrid_path": civicgrid.__file__,
    }
    for name in ("rows_total", "rows_created", "rows_updated", "rows_unchanged", "rows_error", "status"):
        value = getattr(job, name, None)
        result[name] = value if isinstance(value, int | float | None) else str(value)
    result["rows"] = result["rows_total"]
    return result


def child_die(spec: dict[str, Any]) -> dict[str, Any]:
    _django()
    try:
        import import_export_baseline
    except ImportError as exc:
        raise RuntimeError(
            f"django-import-export not installed: pip install -r bench/requirements.txt ({exc})"
        ) from exc

    from civicgrid.people.models import Person

    baseline_mib = _vm_hwm_mib()
    started = time.perf_counter()
    outcome = import_export_baseline.run(spec["file"], spec.get("variant", "best"))
    seconds = time.perf_counter() - started
    return {
        "rows": outcome["rows_total"],
        "seconds": seconds,
        "baseline_hwm_mib": baseline_mib,
        "db_rows": Person.objects.count(),
        **outcome,
    }


CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "setup": child_setup,
    "sqlite_executemany": child_sqlite_executemany,
    "pg_copy": child_pg_copy,
    "parse_calamine": child_parse_calamine,
    "parse_csv": child_parse_csv,
    "bulk_create": child_bulk_create,
    "ours": child_ours,
    "die": child_die,
}


def child_main(raw: str) -> None:
    spec = json.loads(raw)
    try:
        result = CHILDREN[spec["task"]](spec)
    except Exception as exc:
        # Report the failure as data (the table shows it) and the traceback in the log; never a number.
        traceback.print_exc()
        print("RESULT " + json.dumps({"error": f"{type(exc).__name__}: {exc}"[:300]}), flush=True)
        sys.exit(1)
    print("RESULT " + json.dumps(result, default=str), flush=True)


# --------------------------------------------------------------------------------------------
# Parent: databases, files, the order of measurements, results and the table.
# --------------------------------------------------------------------------------------------


class Database:
    """A benchmark database that can be reset to the template (schema + territory) before a run."""

    vendor = ""
    label = ""

    def env(self) -> dict[str, str]:
        raise NotImplementedError

    def template_env(self) -> dict[str, str]:
        raise NotImplementedError

    def create_template(self) -> None:
        raise NotImplementedError

    def fresh(self) -> None:
        raise NotImplementedError

    def drop(self) -> None:
        raise NotImplementedError


class SqliteDatabase(Database):
    vendor = "sqlite"
    label = "SQLite"

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.template = folder / "template.sqlite3"
        self.path = folder / "bench.sqlite3"

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": f"sqlite:///{self.path}"}

    def template_env(self) -> dict[str, str]:
        return {"DATABASE_URL": f"sqlite:///{self.template}"}

    def create_template(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.template}{suffix}").unlink(missing_ok=True)

    def fresh(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.template, self.path)

    def drop(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class PostgresDatabase(Database):
    vendor = "postgresql"
    label = "PostgreSQL"

    def __init__(self) -> None:
        self.dsn = f"postgresql://postgres@127.0.0.1:5432/{PG_DB}"

    def _admin(self, *statements: str) -> None:
        import psycopg

        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as connection:
            for statement in statements:
                connection.execute(statement)  # type: ignore[arg-type]

    def env(self) -> dict[str, str]:
        return {"DATABASE_URL": self.dsn}

    def template_env(self) -> dict[str, str]:
        return {"DATABASE_URL": f"postgresql://postgres@127.0.0.1:5432/{PG_TEMPLATE}"}

    def create_template(self) -> None:
        self._admin(
            f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)",
            f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)",
            f"CREATE DATABASE {PG_TEMPLATE}",
        )

    def fresh(self) -> None:
        self._admin(
            f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)", f"CREATE DATABASE {PG_DB} TEMPLATE {PG_TEMPLATE}"
        )

    def drop(self) -> None:
        self._admin(
            f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)",
            f"DROP DATABASE IF EXISTS {PG_TEMPLATE} WITH (FORCE)",
        )


def source_tree(mode: str, workdir: Path) -> tuple[Path, dict[str, Any]]:
    """The `src` folder the children import: a snapshot of the committed HEAD (default), so that
    others' half-written changes in the shared work tree cannot break or skew a run, or the work tree."""
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    if mode == "worktree":
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return ROOT / "src", {"mode": "worktree", "commit": commit, "src_dirty": bool(dirty.strip())}
    snapshot = workdir / "snapshot"
    snapshot.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", commit, "src"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive, check=True)
    return snapshot / "src", {"mode": "snapshot of HEAD", "commit": commit, "src_dirty": False}


class Runner:
    def __init__(self, args: argparse.Namespace, stamp: str, workdir: Path, src: Path) -> None:
        self.src = src
        self.args = args
        self.log_path = OUT / f"run-{stamp}.log"
        self.log = self.log_path.open("a", encoding="utf-8")
        self.workdir = workdir
        self.measurements: list[dict[str, Any]] = []

    def say(self, text: str) -> None:
        line = f"[{dt.datetime.now():%H:%M:%S}] {text}"  # noqa: DTZ005 - a progress line on the console
        print(line, flush=True)
        self.log.write(line + "\n")
        self.log.flush()

    def child(self, spec: dict[str, Any], env_extra: dict[str, str]) -> dict[str, Any]:
        """Run one child; return its result with wall time, exit status and peak RSS."""
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "civicgrid.config.settings.dev",
            "CIVICGRID_DEBUG": "false",  # DEBUG keeps every query in memory: never benchmark with it
            "CIVICGRID_DATA_DIR": str(self.workdir / "var"),
            # Ahead of the venv's editable install of the work tree.
            "PYTHONPATH": os.pathsep.join([str(BENCH), str(self.src)]),
            **env_extra,
        }
        load = os.getloadavg()[0]
        started = time.perf_counter()
        self.log.write(f"--- child {json.dumps(spec, ensure_ascii=False)}\n")
        self.log.flush()
        process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=self.log,
            text=True,
            cwd=str(ROOT),
        )
        assert process.stdout is not None
        stdout = process.stdout.read()
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        result: dict[str, Any] = {}
        for line in stdout.splitlines():
            if line.startswith("RESULT "):
                result = json.loads(line[len("RESULT ") :])
            else:
                self.log.write(line + "\n")
        result.update(
            exit_code=process.returncode,
            wall_seconds=round(wall, 3),
            peak_rss_mib=round(usage.ru_maxrss / 1024, 1),
            load_before=round(load, 2),
        )
        if process.returncode != 0:
            result.setdefault("error", f"exit code {process.returncode}, see {self.log_path.name}")
        elif result.get("seconds") and result.get("rows") is not None:
            result["rows_per_s"] = round(result["rows"] / result["seconds"], 1)
        return result

    def measure(
        self, name: str, spec: dict[str, Any], database: Database | None, *, fresh: bool = True, **labels: Any
    ) -> dict[str, Any]:
        if database is not None and fresh:
            database.fresh()
        # Each import stores a copy of its file under MEDIA_ROOT: drop the last run's copies.
        shutil.rmtree(self.workdir / "var" / "media", ignore_errors=True)
        env = database.env() if database else {}
        if database is not None:
            spec = {
                **spec,
                "db_path": str(getattr(database, "path", "")),
                "dsn": getattr(database, "dsn", ""),
            }
        result = self.child(spec, env)
        record = {"name": name, "database": database.vendor if database else None, **labels, **result}
        self.measurements.append(record)
        rate = (
            f"{result['rows_per_s']:,.0f} rows/s"
            if "rows_per_s" in result
            else f"FAILED: {result.get('error')}"
        )
        self.say(
            f"{name:<22} {record.get('database') or '-':<10} {labels} {rate}, "
            f"peak {result['peak_rss_mib']:.0f} MiB, wall {result['wall_seconds']:.1f}s"
        )
        return record


def data_file(rows: int, seed: int, invalid_rate: float, file_format: str, runner: Runner) -> Path:
    """The generated file for these parameters, generated now unless already there."""
    import generate

    path = DATA / f"persons-{rows}-s{seed}-i{invalid_rate:g}.{file_format}"
    manifest = path.with_name(path.name + ".json")
    if not (path.exists() and manifest.exists()):
        runner.say(f"generating {path.name}")
        generate.generate(rows, seed, file_format, path, invalid_rate)
    return path


def machine_facts() -> dict[str, Any]:
    import sqlite3

    import django
    import psycopg

    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    facts: dict[str, Any] = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "django": django.get_version(),
        "psycopg": psycopg.__version__,
    }
    try:
        import import_export

        facts["django_import_export"] = import_export.__version__
    except ImportError:
        facts["django_import_export"] = None
    try:
        with psycopg.connect(PG_ADMIN_DSN) as connection:
            facts["postgresql"] = connection.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
            facts["postgresql_settings"] = {
                name: connection.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                for name in ("shared_buffers", "synchronous_commit", "max_wal_size", "work_mem")
            }
    except psycopg.Error as exc:
        facts["postgresql"] = f"unavailable: {exc}"
    return facts


def median_rate(records: list[dict[str, Any]]) -> float | None:
    rates = [r["rows_per_s"] for r in records if "rows_per_s" in r]
    return statistics.median(rates) if rates else None


def run(args: argparse.Namespace) -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    OUT.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="cg-bench-"))
    src, code = source_tree(args.src, workdir)
    runner = Runner(args, stamp, workdir, src)
    started = time.perf_counter()
    runner.say(
        f"bench run {stamp}: rows={args.rows:,} slice={args.slice_rows:,} reps={args.reps} "
        f"databases={args.databases} formats={args.formats} log={runner.log_path}"
    )
    formats = args.formats.split(",")
    skip = set(args.skip.split(",")) if args.skip else set()
    # The full-size files (about 14 minutes to generate) only when something reads them.
    big = (
        {fmt: data_file(args.rows, args.seed, args.invalid_rate, fmt, runner) for fmt in ("csv", "xlsx")}
        if {"parse", "ceilings", "million"} - skip
        else {}
    )
    # The CSV slice is always made: the slice's DB write ceiling reads it.
    small = {fmt: data_file(args.slice_rows, args.seed, 0.0, fmt, runner) for fmt in {"csv", *formats}}
    files = {
        str(path): json.loads(path.with_name(path.name + ".json").read_text())
        for path in [*big.values(), *small.values()]
    }
    results: dict[str, Any] = {
        "stamp": stamp,
        "args": vars(args),
        "machine": machine_facts(),
        "code": code,
        "files": files,
        "measurements": runner.measurements,
    }
    out_path = OUT / f"results-{stamp}.json"

    def save() -> None:
        results["seconds"] = round(time.perf_counter() - started, 1)
        out_path.write_text(json.dumps(results, ensure_ascii=False, indent=2, default=str))

    if "parse" not in skip:
        for _ in range(args.reps):
            runner.measure("parse_csv", {"task": "parse_csv", "file": str(big["csv"])}, None, file="csv")
            runner.measure(
                "parse_calamine", {"task": "parse_calamine", "file": str(big["xlsx"])}, None, file="xlsx"
            )
        save()

    for vendor in args.databases.split(","):
        database: Database = SqliteDatabase(workdir / "sqlite") if vendor == "sqlite" else PostgresDatabase()
        if vendor == "sqlite":
            database.folder.mkdir(parents=True, exist_ok=True)  # type: ignore[attr-defined]
        database.create_template()
        setup = runner.child({"task": "setup"}, database.template_env())
        if setup["exit_code"] != 0:
            runner.say(f"setup of {vendor} failed: {setup.get('error')}")
            continue
        runner.say(f"{database.label}: template with {setup['nodes']} nodes in {setup['seconds']:.1f}s")
        try:
            if "ceilings" not in skip:
                raw_task = RAW_TASK[vendor]
                raw_spec = {"task": raw_task, "file": str(big["csv"])}
                for _ in range(args.reps):
                    runner.measure(raw_task, raw_spec, database, file="csv", variant="indexed")
                    runner.measure(
                        raw_task, {**raw_spec, "drop_indexes": True}, database, file="csv", variant="noindex"
                    )
                    if vendor == "sqlite":
                        runner.measure(
                            raw_task,
                            {**raw_spec, "cache_kib": 256 * 1024},
                            database,
                            file="csv",
                            variant="cache",
                        )
                for _ in range(args.bulk_reps):
                    runner.measure(
                        "bulk_create", {"task": "bulk_create", "file": str(big["csv"])}, database, file="csv"
                    )
                save()
            if "million" not in skip:
                for fmt in formats:
                    spec = {"task": "ours", "file": str(big[fmt])}
                    for repeat in range(args.million_reps):
                        labels = {"file": fmt, "size": "full", "repeat": repeat}
                        runner.measure("ours", spec, database, phase="first", **labels)
                        runner.measure("ours", spec, database, fresh=False, phase="reimport", **labels)
                        save()
            if "slice" not in skip:
                # What the slice's fresh database can take at all: the bare insert of the same rows
                # (SQLite with the importer's page cache), so that 10x django-import-export can be set
                # against what the machine allows on this very file.
                raw_task = RAW_TASK[vendor]
                slice_ceiling = {"task": raw_task, "file": str(small["csv"])}
                if vendor == "sqlite":
                    slice_ceiling["cache_kib"] = 256 * 1024
                for _ in range(args.reps):
                    runner.measure(raw_task, slice_ceiling, database, file="csv", size="slice", variant="slice")
                for fmt in formats:
                    spec = {"file": str(small[fmt])}
                    # Alternate ours and theirs so that the machine's noise falls on both alike.
                    for _ in range(args.reps):
                        runner.measure("ours", {**spec, "task": "ours"}, database, file=fmt, size="slice")
                        if "die" not in skip:
                            runner.measure("die", {**spec, "task": "die"}, database, file=fmt, size="slice")
                    save()
                if "die-default" not in skip and "csv" in formats:
                    spec = {"file": str(small["csv"]), "task": "die", "variant": "default"}
                    runner.measure("die_default", spec, database, file="csv", size="slice")
                    save()
        finally:
            if not args.keep_databases:
                database.drop()
    if not args.keep_databases:
        shutil.rmtree(workdir, ignore_errors=True)
    save()
    runner.say(f"done in {results['seconds']:.0f}s -> {out_path}")
    print()
    print(render(results))
    return out_path


# --------------------------------------------------------------------------------------------
# The Markdown table.
# --------------------------------------------------------------------------------------------


def _fmt_rate(value: float | None) -> str:
    return f"{value:,.0f}" if value else "n/a"


def _fmt_ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}" if a and b else "n/a"


def _yes(condition: bool) -> str:
    return "yes" if condition else "**no**"


def render(results: dict[str, Any]) -> str:
    """The Markdown tables of one run: ceilings, the full-size imports, and the slice comparison."""
    measurements = results["measurements"]
    args = results["args"]
    databases = args["databases"].split(",")
    formats = args["formats"].split(",")
    labels = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}

    def pick(name: str, **wanted: Any) -> list[dict[str, Any]]:
        return [
            m for m in measurements if m["name"] == name and all(m.get(k) == v for k, v in wanted.items())
        ]

    def ok(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [r for r in records if "rows_per_s" in r]

    def peak(records: list[dict[str, Any]]) -> float | None:
        return max((r["peak_rss_mib"] for r in ok(records)), default=None)

    def fmt_peak(records: list[dict[str, Any]]) -> str:
        value = peak(records)
        return f"{value:,.0f}" if value else "n/a"

    def manifest(fmt: str, size: str) -> dict[str, Any]:
        rows = args["rows"] if size == "full" else args["slice_rows"]
        for info in results["files"].values():
            if info["format"] == fmt and info["rows"] == rows:
                return info  # type: ignore[no-any-return]
        return {}

    rows_label = f"{args['rows']:,}"
    lines = [
        f"Run `{results['stamp']}` — files of {rows_label} rows ({args['invalid_rate']:.0%} invalid rows) and a "
        f"{args['slice_rows']:,}-row slice (all valid). Parse and DB-write ceilings and the slice: median of "
        f"{args['reps']} runs; bulk_create: {args.get('bulk_reps', args['reps'])} run(s); full-size imports: "
        f"{args['million_reps']} run each. Peak RSS: the child process's ru_maxrss, max over runs. "
        f"Code: {results.get('code', {}).get('mode', 'work tree')} {results.get('code', {}).get('commit', '')[:10]}.",
        "",
        "**Raw ceilings, same run**",
        "",
        "| ceiling | SQLite rows/s | PostgreSQL rows/s | peak RSS MiB |",
        "|---|---:|---:|---:|",
    ]
    parse_csv, parse_xlsx = pick("parse_csv"), pick("parse_calamine")
    lines.append(
        f"| parse only, CSV (csv.reader), {rows_label} rows | {_fmt_rate(median_rate(parse_csv))} (no database) | "
        f"— | {fmt_peak(parse_csv)} |"
    )
    lines.append(
        f"| parse only, xlsx (python-calamine), {rows_label} rows | {_fmt_rate(median_rate(parse_xlsx))} "
        f"(no database) | — | {fmt_peak(parse_xlsx)} |"
    )
    raw = {
        (vendor, variant): pick(task, variant=variant)
        for vendor, task in (("sqlite", "sqlite_executemany"), ("postgresql", "pg_copy"))
        for variant in ("indexed", "noindex")
    }
    lines.append(
        "| **DB write ceiling** (3 runs): SQLite `executemany` / PostgreSQL `COPY` of pre-built tuples into "
        "people_person as migrated (all its indexes), one transaction | "
        f"{_fmt_rate(median_rate(raw['sqlite', 'indexed']))} | {_fmt_rate(median_rate(raw['postgresql', 'indexed']))} | "
        f"{fmt_peak(raw['sqlite', 'indexed'] + raw['postgresql', 'indexed'])} |"
    )
    lines.append(
        "| the same with the secondary indexes dropped (reference only; primary key and UNIQUE kept) | "
        f"{_fmt_rate(median_rate(raw['sqlite', 'noindex']))} | {_fmt_rate(median_rate(raw['postgresql', 'noindex']))} | "
        f"{fmt_peak(raw['sqlite', 'noindex'] + raw['postgresql', 'noindex'])} |"
    )
    cached = pick("sqlite_executemany", variant="cache")
    if cached:
        lines.append(
            "| the same, SQLite with a 256 MiB page cache (`PRAGMA cache_size`, as the importer sets it) | "
            f"{_fmt_rate(median_rate(cached))} | — | {fmt_peak(cached)} |"
        )
    bulk = {vendor: pick("bulk_create", database=vendor) for vendor in ("sqlite", "postgresql")}
    lines.append(
        "| plain `bulk_create` (batches of 5,000) + `idnumber.parse` per row, from the CSV | "
        f"{_fmt_rate(median_rate(bulk['sqlite']))} | {_fmt_rate(median_rate(bulk['postgresql']))} | "
        f"{fmt_peak(bulk['sqlite'] + bulk['postgresql'])} |"
    )
    ceiling = {vendor: median_rate(raw[vendor, "indexed"]) for vendor in ("sqlite", "postgresql")}
    if cached:
        # The importer sets this cache on SQLite, so the same-cache insert is the fair ceiling.
        ceiling["sqlite"] = median_rate(cached)
    parse_ceiling = {"csv": median_rate(parse_csv), "xlsx": median_rate(parse_xlsx)}

    lines += [
        "",
        f"**Our importer (`run_import`), {rows_label} rows** — re-import: the same file again into the same database",
        "",
        "| file | database | run | rows/s | floor | met | peak RSS MiB | ≤ 1 GiB | created / updated / unchanged / "
        "error | counts as expected | ÷ DB write ceiling | ÷ bulk_create | ÷ parse ceiling |",
        "|---|---|---|---:|---:|---|---:|---|---|---|---:|---:|---:|",
    ]
    for fmt in formats:
        expected = manifest(fmt, "full")
        for vendor in databases:
            for phase in ("first", "reimport"):
                records = pick("ours", database=vendor, file=fmt, size="full", phase=phase)
                if not records:
                    continue
                good = ok(records)
                rate = median_rate(records)
                if good:
                    last = good[-1]
                    counts = (
                        f"{last.get('rows_created'):,} / {last.get('rows_updated'):,} / "
                        f"{last.get('rows_unchanged'):,} / {last.get('rows_error'):,}"
                    )
                    settled = last.get("rows_created") if phase == "first" else last.get("rows_unchanged")
                    as_expected = _yes(
                        settled == expected.get("valid_rows")
                        and last.get("rows_error") == expected.get("invalid_rows")
                    )
                else:
                    counts, as_expected = str(records[-1].get("error") or "failed")[:160], "—"
                peak_value = peak(records)
                lines.append(
                    f"| {fmt} | {labels[vendor]} | {phase} | {_fmt_rate(rate)} | {FLOORS[fmt]:,} | "
                    f"{_yes(bool(rate) and rate >= FLOORS[fmt])} | {fmt_peak(records)} | "  # type: ignore[operator]
                    f"{_yes(bool(peak_value) and peak_value <= PEAK_FLOOR_MIB)} | {counts} | {as_expected} | "  # type: ignore[operator]
                    f"{_fmt_ratio(rate, ceiling[vendor])} | {_fmt_ratio(rate, median_rate(bulk[vendor]))} | "
                    f"{_fmt_ratio(rate, parse_ceiling[fmt])} |"
                )

    lines += [
        "",
        f"**{args['slice_rows']:,}-row slice: ours vs django-import-export** (a fresh database for every run; "
        "the two alternate)",
        "",
        "| file | database | ours rows/s | django-import-export, best settings, rows/s | ratio | ≥ 10× | "
        "django-import-export, default settings, rows/s (1 run) | ratio | peak RSS MiB ours / d-i-e best | "
        "DB write ceiling on the slice, rows/s | ours ÷ ceiling | 10× d-i-e best ÷ ceiling |",
        "|---|---|---:|---:|---:|---|---:|---:|---|---:|---:|---:|",
    ]
    for fmt in formats:
        for vendor in databases:
            ours = pick("ours", database=vendor, file=fmt, size="slice")
            best = pick("die", database=vendor, file=fmt, size="slice")
            default = pick("die_default", database=vendor, file=fmt, size="slice")
            if not ours and not best:
                continue
            ours_rate, best_rate, default_rate = median_rate(ours), median_rate(best), median_rate(default)
            ratio = ours_rate / best_rate if ours_rate and best_rate else None
            default_ratio = ours_rate / default_rate if ours_rate and default_rate else None
            slice_ceiling = median_rate(pick(RAW_TASK[vendor], database=vendor, variant="slice"))
            needed = RATIO_FLOOR * best_rate if best_rate else None
            lines.append(
                f"| {fmt} | {labels[vendor]} | {_fmt_rate(ours_rate)} | {_fmt_rate(best_rate)} | "
                f"{f'{ratio:.1f}×' if ratio else 'n/a'} | {_yes(bool(ratio) and ratio >= RATIO_FLOOR)} | "  # type: ignore[operator]
                f"{_fmt_rate(default_rate) if default else '—'} | "
                f"{f'{default_ratio:.0f}×' if default_ratio else '—'} | {fmt_peak(ours)} / {fmt_peak(best)} | "
                f"{_fmt_rate(slice_ceiling)} | {_fmt_ratio(ours_rate, slice_ceiling)} | "
                f"{_fmt_ratio(needed, slice_ceiling)} |"
            )
    failures = [m for m in measurements if m.get("exit_code") != 0]
    if failures:
        lines += ["", "Failed measurements:", ""]
        seen: set[str] = set()
        for failure in failures:
            key = f"{failure['name']} {failure.get('database')}: {failure.get('error')}"
            if key not in seen:
                seen.add(key)
                lines.append(f"- {key}")
    loads = [m["load_before"] for m in measurements if "load_before" in m]
    if loads:
        lines += [
            "",
            f"1-minute load average before each measurement: median {statistics.median(loads):.2f}, "
            f"max {max(loads):.2f} (2 cores). Total run time {results.get('seconds', 0):,.0f} s.",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--render", type=Path, help="print the table of an earlier results JSON")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--slice-rows", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--invalid-rate", type=float, default=0.01, help="invalid share of the big files")
    parser.add_argument("--reps", type=int, default=3, help="repeats of each short measurement")
    parser.add_argument("--million-reps", type=int, default=1, help="repeats of the full-size imports")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument(
        "--skip", default="", help="comma list of: parse,ceilings,million,slice,die,die-default"
    )
    parser.add_argument("--keep-databases", action="store_true")
    parser.add_argument(
        "--src",
        choices=("snapshot", "worktree"),
        default="snapshot",
        help="import the committed HEAD (default) or the work tree as it is",
    )
    parser.add_argument("--bulk-reps", type=int, default=1, help="repeats of the 1M-row bulk_create ceiling")
    args = parser.parse_args()
    if args.child:
        child_main(args.child)
    elif args.render:
        print(render(json.loads(args.render.read_text())))
    else:
        run(args)


if __name__ == "__main__":
    main()
