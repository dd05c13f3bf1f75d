"""Dashboard benchmark: a generated county (households-equivalent people, cases over 12 months) on
SQLite and PostgreSQL; the full recompute of stored indicator values; the latency of the indicator
pages (dashboard for the root, a town and a village, a town officer's dashboard, one indicator's
detail) through Django's test Client; the same card values computed by a 6-query page over the raw
cases table and over a grid × month rollup, in the same run, for the ratio; and the incremental
update after one case is closed (`case_verify` → `notify_changed`).

    .venv/bin/python bench/dashboard/run.py                     # full: 1,000,000 households, 5,000,000 cases
    .venv/bin/python bench/dashboard/run.py --households 50000 --cases 250000 --reps 50 --raw-reps 10
    .venv/bin/python bench/dashboard/run.py --render bench/dashboard/out/results-<ts>.json

Each database is measured in its own child process (this script with --child) on a fresh database:
SQLite in a temporary file, PostgreSQL in the scratch database `cg_dash` on 127.0.0.1:5432 (user
postgres, trust auth), dropped and created. Results go to bench/dashboard/out/results-<ts>.json and a
Markdown table is printed.
"""

from __future__ import annotations

import argparse
import contextlib
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
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = HERE / "out"
sys.path.insert(0, str(HERE))

PG_ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "cg_dash"
FLOOR_MS = 200.0
AIM_MS = 50.0
SELECTED = "closure_rate"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S', time.gmtime())}Z] {message}", flush=True)


def percentiles(samples: list[float]) -> dict[str, float]:
    """p50/p95/p99 and mean of samples in milliseconds."""
    if not samples:
        return {}
    ordered = sorted(samples)
    if len(ordered) == 1:
        value = ordered[0]
        return {"n": 1, "p50": value, "p95": value, "p99": value, "mean": value, "max": value}
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {"n": len(ordered), "p50": statistics.median(ordered), "p95": cuts[94], "p99": cuts[98],
            "mean": statistics.fmean(ordered), "max": ordered[-1]}


# --------------------------------------------------------------------------------------------
# The child: one database, everything measured in one process.
# --------------------------------------------------------------------------------------------


def _db_size(connection: Any, spec: dict[str, Any]) -> dict[str, Any]:
    sizes: dict[str, Any] = {}
    tables = ("cases_case", "people_person", "indicators_indicatorvalue", "indicators_indicatorday", "cases_inspection",
              "territory_node")
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            path = Path(spec["db_path"])
            sizes["database_bytes"] = sum(
                candidate.stat().st_size for candidate in (path, Path(f"{path}-wal")) if candidate.exists()
            )
            try:
                for table in tables:
                    cursor.execute("SELECT sum(pgsize) FROM dbstat WHERE name = %s OR name IN "
                                   "(SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = %s)",
                                   [table, table])
                    sizes[f"{table}_bytes"] = cursor.fetchone()[0]
            except Exception as exc:  # dbstat is optional in SQLite builds
                sizes["tables_error"] = str(exc)
        else:
            cursor.execute("SELECT pg_database_size(current_database())")
            sizes["database_bytes"] = cursor.fetchone()[0]
            for table in tables:
                cursor.execute("SELECT pg_total_relation_size(%s)", [table])
                sizes[f"{table}_bytes"] = cursor.fetchone()[0]
    return sizes


class RawPage:
    """The 6-query page computing the same values from the tables (cases: raw or a grid × month rollup)."""

    def __init__(self, connection: Any, today: dt.date, cases_table: str = "cases_case") -> None:
        self.connection = connection
        self.today = today
        self.rollup = cases_table != "cases_case"
        self.cases_table = cases_table
        self.sqlite = connection.vendor == "sqlite"
        month = today.replace(day=1)
        self.month = month
        first = month
        for _step in range(11):
            first = (first - dt.timedelta(days=1)).replace(day=1)
        self.first = first

    def _subtree(self, column: str, path: str) -> tuple[str, list[Any]]:
        if self.sqlite:  # LIKE cannot use SQLite's index (case-insensitive); a range can.
            return f"{column} >= %s AND {column} < %s", [path, path[:-1] + "0"]
        return f"{column} LIKE %s", [path + "%"]

    def _month(self, column: str) -> str:
        return f"substr({column}, 1, 7)" if self.sqlite else f"to_char({column}, 'YYYY-MM')"

    def _child(self, column: str, length: int) -> str:
        if self.sqlite:
            return f"substr({column}, {length + 1}, instr(substr({column}, {length + 1}), '/') - 1)"
        return f"split_part(substr({column}, {length + 1}), '/', 1)"

    def _hint(self, path: str, *, whole_year: bool) -> str:
        """SQLite without statistics picks the deadline index for a subtree too (both are ranges);
        a careful hand-written page would not: the scope index for a subtree, a plain scan for the
        whole county's year, the deadline index for the whole county's month."""
        if not self.sqlite or self.rollup:
            return ""
        if path.count("/") > 2:
            return " INDEXED BY cases_case_scope_like"
        return " NOT INDEXED" if whole_year else ""

    def page(self, node: dict[str, Any]) -> dict[str, Any]:
        path, pk = node["path"], node["pk"]
        today, month, first = self.today, self.month, self.first
        out: dict[str, Any] = {}
        with self.connection.cursor() as cursor:
            where, params = self._subtree("scope_path", path)
            # 1. Case cards and their 12-month trend (closure, on-time, rework: 4 sums by month).
            if self.rollup:
                cursor.execute(
                    f"SELECT {self._month('month')}, SUM(due), SUM(closed), SUM(on_time), SUM(reopen) "  # noqa: S608
                    f"FROM {self.cases_table} WHERE {where} AND month >= %s AND month <= %s GROUP BY 1",
                    [*params, first, month],
                )
            else:
                cursor.execute(
                    f"SELECT {self._month('deadline')}, "  # noqa: S608
                    "SUM(CASE WHEN status <> 'cancelled' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'closed' AND closed_on_time THEN 1 ELSE 0 END), "
                    "SUM(CASE WHEN status = 'closed' AND rejection_count > 0 THEN 1 ELSE 0 END) "
                    f"FROM cases_case{self._hint(path, whole_year=True)} WHERE {where} "
                    "AND deadline >= %s AND deadline <= %s GROUP BY 1",
                    [*params, first, today],
                )
            trend = {row[0]: tuple(int(value or 0) for value in row[1:]) for row in cursor.fetchall()}
            out["cases"] = trend.get(month.strftime("%Y-%m"), (0, 0, 0, 0))
            out["trend_months"] = len(trend)
            # 2. Children ranked by the selected indicator (closure rate) this month.
            child = self._child("scope_path", len(path))
            if self.rollup:
                cursor.execute(
                    f"SELECT {child}, SUM(closed), SUM(due) FROM {self.cases_table} "  # noqa: S608
                    f"WHERE {where} AND month = %s GROUP BY 1",
                    [*params, month],
                )
            else:
                cursor.execute(
                    f"SELECT {child}, SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END), "  # noqa: S608
                    "SUM(CASE WHEN status <> 'cancelled' THEN 1 ELSE 0 END) "
                    f"FROM cases_case{self._hint(path, whole_year=False)} WHERE {where} "
                    "AND deadline >= %s AND deadline <= %s GROUP BY 1",
                    [*params, month, today],
                )
            out["ranking"] = {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in cursor.fetchall() if row[0]}
            # 3. Inspection pass rate and its trend.
            where_i, params_i = self._subtree("scope_path", path)
            cursor.execute(
                f"SELECT {self._month('inspected_on')}, SUM(items_passed), SUM(items_checked) "  # noqa: S608
                f"FROM cases_inspection WHERE status = 'completed' AND {where_i} "
                "AND inspected_on >= %s AND inspected_on <= %s GROUP BY 1",
                [*params_i, first, today],
            )
            inspections = {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in cursor.fetchall()}
            out["inspection"] = inspections.get(month.strftime("%Y-%m"), (0, 0))
            # 4. Responsibility coverage today.
            where_n, params_n = self._subtree("n.path", path)
            cursor.execute(
                "SELECT COUNT(*), SUM(CASE WHEN EXISTS (SELECT 1 FROM territory_assignment a "  # noqa: S608
                "WHERE a.node_id = n.id AND a.is_primary AND a.valid_from <= %s "
                "AND (a.valid_to IS NULL OR a.valid_to > %s) AND a.role = CASE n.kind "
                "WHEN 'town' THEN 'town_leader' WHEN 'village' THEN 'village_cadre' WHEN 'grid' THEN 'grid_worker' "
                "WHEN 'brigade' THEN 'brigade_head' WHEN 'zone' THEN 'zone_leader' WHEN 'line' THEN 'line_leader' "
                "WHEN 'post' THEN 'post_officer' END) THEN 1 ELSE 0 END) "
                f"FROM territory_node n WHERE {where_n} AND n.is_active "
                "AND n.kind IN ('town', 'village', 'grid', 'brigade', 'zone', 'line', 'post')",
                [today, today, *params_n],
            )
            total, covered = cursor.fetchone()
            out["coverage"] = (int(covered or 0), int(total or 0))
            # 5. The node's family: ancestors (breadcrumb) and children (names, geometry for the map).
            ancestors = [int(part) for part in path.strip("/").split("/")[:-1]]
            marks = ", ".join(["%s"] * len(ancestors)) or "NULL"
            cursor.execute(
                "SELECT id, parent_id, code, name, kind, path, depth, geometry FROM territory_node "  # noqa: S608
                f"WHERE is_active AND (id IN ({marks}) OR parent_id = %s) ORDER BY depth, code",
                [*ancestors, pk],
            )
            children = [row[0] for row in cursor.fetchall() if row[1] == pk]
            # 6. Who answers for each child today.
            if children:
                marks = ", ".join(["%s"] * len(children))
                cursor.execute(
                    "SELECT a.node_id, p.name FROM territory_assignment a JOIN people_person p ON p.id = a.person_id "  # noqa: S608
                    f"WHERE a.node_id IN ({marks}) AND a.is_primary AND a.valid_from <= %s "
                    "AND (a.valid_to IS NULL OR a.valid_to > %s)",
                    [*children, today, today],
                )
                out["responsible"] = len(cursor.fetchall())
        return out


def _build_rollup(connection: Any, today: dt.date) -> float:
    """A grid × month rollup of the cases (what a nightly job would keep), counted through today."""
    started = time.perf_counter()
    month = "date(substr(deadline, 1, 7) || '-01')" if connection.vendor == "sqlite" else "date_trunc('month', deadline)::date"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_case_month")
        cursor.execute(
            f"CREATE TABLE bench_case_month AS SELECT node_id, scope_path, {month} AS month, "  # noqa: S608
            "SUM(CASE WHEN status <> 'cancelled' THEN 1 ELSE 0 END) AS due, "
            "SUM(CASE WHEN status = 'closed' THEN 1 ELSE 0 END) AS closed, "
            "SUM(CASE WHEN status = 'closed' AND closed_on_time THEN 1 ELSE 0 END) AS on_time, "
            "SUM(CASE WHEN status = 'closed' AND rejection_count > 0 THEN 1 ELSE 0 END) AS reopen "
            "FROM cases_case WHERE deadline <= %s GROUP BY node_id, scope_path, 3",
            [today],
        )
        ops = " varchar_pattern_ops" if connection.vendor == "postgresql" else ""
        cursor.execute(f"CREATE INDEX bench_case_month_path ON bench_case_month (scope_path{ops}, month)")
        cursor.execute("CREATE INDEX bench_case_month_month ON bench_case_month (month, scope_path)")
        cursor.execute("ANALYZE bench_case_month")
    return time.perf_counter() - started


def _stored(node_pk: int, today: dt.date) -> dict[str, tuple[int, int]]:
    from civicgrid.indicators.models import IndicatorValue
    from civicgrid.indicators.periods import period_start

    rows = IndicatorValue.objects.filter(node_id=node_pk, period_start=period_start("month", today)).values_list(
        "indicator__code", "numerator", "denominator")
    return {code: (numerator, denominator) for code, numerator, denominator in rows}


def _agreement(raw: dict[str, Any], stored: dict[str, tuple[int, int]]) -> dict[str, Any]:
    due, closed, on_time, reopen = raw["cases"]
    expected = {
        "closure_rate": (closed, due), "on_time_rate": (on_time, due), "reopen_rate": (reopen, closed),
        "inspection_pass_rate": raw["inspection"], "responsibility_coverage": raw["coverage"],
    }
    differences = {code: {"raw": list(value), "stored": list(stored.get(code, (0, 0)))}
                   for code, value in expected.items() if tuple(stored.get(code, (0, 0))) != tuple(value)}
    return {"agree": not differences, "differences": differences, "values": {k: list(v) for k, v in expected.items()}}


def _explain(connection: Any, sql: str) -> list[str]:
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute("EXPLAIN QUERY PLAN " + sql)
            return [str(row[-1]) for row in cursor.fetchall()]
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
        return [row[0] for row in cursor.fetchall()]


def child_main(spec: dict[str, Any]) -> dict[str, Any]:  # noqa: C901 - one linear script
    import django

    django.setup()
    import generate
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, reset_queries
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse
    from django.utils import timezone

    import civicgrid
    from civicgrid.cases.models import Case
    from civicgrid.cases.services import case_verify
    from civicgrid.indicators import services
    from civicgrid.territory.models import Grant, Node

    result: dict[str, Any] = {"db": spec["db"], "vendor": connection.vendor, "civicgrid_from": civicgrid.__file__}
    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version")
        result["db_version"] = cursor.fetchone()[0]

    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    result["migrate_s"] = time.perf_counter() - started
    log(f"{spec['db']}: migrated in {result['migrate_s']:.1f} s; generating")

    started = time.perf_counter()
    facts = generate.generate(connection, generate.Spec(households=spec["households"], cases=spec["cases"],
                                                        seed=spec["seed"]), log=log)
    result["generate_s"] = time.perf_counter() - started
    result["facts"] = facts
    today = dt.date.fromisoformat(facts["today"])
    log(f"{spec['db']}: generated in {result['generate_s']:.1f} s: {facts['people']:,} people, "
        f"{facts['cases']:,} cases {facts['case_mix']}")

    # Accounts: a county administrator granted the root, a town officer granted the first town.
    users = get_user_model()
    root = Node.objects.get(pk=facts["sample"]["root"])
    town = Node.objects.get(pk=facts["sample"]["town"])
    village = Node.objects.get(pk=facts["sample"]["village"])
    admin = users.objects.create(username="bench_admin", role="county_admin", display_name="县管理员")
    officer = users.objects.create(username="bench_town", role="town_officer", display_name="镇干部")
    Grant.objects.create(user=admin, node=root)
    Grant.objects.create(user=officer, node=town)

    started = time.perf_counter()
    result["sync"] = services.indicators_sync_builtins(enqueue=False)
    result["sync_s"] = time.perf_counter() - started

    # Full recompute (what `civicgrid indicators recompute` calls), with its parts timed: the scans of
    # the sources (engine._model_own / _snapshot_own, per source), the roll-up, the writes.
    from civicgrid.indicators import engine

    parts: dict[str, float] = defaultdict(float)
    patched: list[tuple[Any, str, Any]] = []

    def timed(module: Any, name: str, label: Any) -> None:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            begun = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                parts[label(args)] += time.perf_counter() - begun

        patched.append((module, name, original))
        setattr(module, name, wrapper)

    timed(engine, "_model_own", lambda args: f"scan {args[0].code} (GROUP BY)")
    timed(engine, "_snapshot_own", lambda args: f"snapshot {args[0].code}")
    timed(engine, "roll_up", lambda args: "roll-up in Python")
    timed(services, "_write", lambda args: "write IndicatorValue rows (delete + bulk_create)")
    # Day rows (IndicatorDay): their scans are also counted in "scan ..." above.
    timed(services, "compute_days", lambda args: "day rows: compute (scans by day + roll-up)")
    timed(services, "_write_days", lambda args: "day rows: write IndicatorDay rows")
    log(f"{spec['db']}: recomputing every indicator")
    started = time.perf_counter()
    written = services.indicator_recompute_all()
    result["recompute_s"] = time.perf_counter() - started
    for module, name, original in patched:
        setattr(module, name, original)
    result["recompute_rows"] = written
    result["recompute_parts_s"] = dict(parts)
    log(f"{spec['db']}: recomputed in {result['recompute_s']:.1f} s, rows {written}")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE indicators_indicatorvalue")
            cursor.execute("ANALYZE indicators_indicatorday")
    from civicgrid.indicators.models import IndicatorDay

    result["day_rows"] = IndicatorDay.objects.count()

    # Pages.
    backend = "django.contrib.auth.backends.ModelBackend"
    admin_client = Client(SERVER_NAME="127.0.0.1")
    admin_client.force_login(admin, backend=backend)
    officer_client = Client(SERVER_NAME="127.0.0.1")
    officer_client.force_login(officer, backend=backend)
    dashboard = reverse("indicators:dashboard")
    detail = reverse("indicators:detail", args=[SELECTED])
    pages = {
        "dashboard root (county admin)": (admin_client, dashboard, {}),
        "dashboard town (county admin)": (admin_client, dashboard, {"node": town.pk}),
        "dashboard village (county admin)": (admin_client, dashboard, {"node": village.pk}),
        "dashboard town (town officer)": (officer_client, dashboard, {}),
        f"detail {SELECTED} root": (admin_client, detail, {"node": root.pk}),
    }
    for name, (client, url, params) in pages.items():
        response = client.get(url, params)
        if response.status_code != 200:
            raise RuntimeError(f"{name}: HTTP {response.status_code}")
    for _round in range(spec["warmup"]):
        for client, url, params in pages.values():
            client.get(url, params)
    log(f"{spec['db']}: timing {len(pages)} pages × {spec['reps']} requests (round-robin)")
    samples: dict[str, list[float]] = {name: [] for name in pages}
    for _round in range(spec["reps"]):
        for name, (client, url, params) in pages.items():
            begun = time.perf_counter()
            client.get(url, params)
            samples[name].append((time.perf_counter() - begun) * 1000)
    page_results: dict[str, Any] = {name: {"latency_ms": percentiles(values)} for name, values in samples.items()}
    # A second pass with the queries captured: how many per page, their time, the slowest ones.
    captured_reps = spec["capture_reps"]
    sql_samples: dict[str, list[float]] = {name: [] for name in pages}
    by_query: dict[str, dict[int, list[float]]] = {name: defaultdict(list) for name in pages}
    query_text: dict[str, dict[int, str]] = {name: {} for name in pages}
    counts: dict[str, list[int]] = {name: [] for name in pages}
    durations: list[float] = []
    texts: list[str] = []

    def clock_queries(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        begun = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            durations.append((time.perf_counter() - begun) * 1000)
            if keep_text:
                try:
                    texts.append(connection.ops.last_executed_query(context["cursor"], sql, params))
                except Exception:  # only for the report
                    texts.append(sql)

    keep_text = True

    for _round in range(captured_reps):
        for name, (client, url, params) in pages.items():
            durations.clear()
            texts.clear()
            reset_queries()  # the query log is a bounded deque: start each page empty
            with CaptureQueriesContext(connection) as context:
                client.get(url, params)
            counts[name].append(len(context.captured_queries))
            with connection.execute_wrapper(clock_queries):  # timed apart: no debug-cursor overhead
                client.get(url, params)
            sql_samples[name].append(sum(durations))
            for index, (text, spent) in enumerate(zip(texts, durations, strict=True)):
                by_query[name][index].append(spent)
                query_text[name][index] = text
    reset_queries()
    for name in pages:
        slowest = sorted(by_query[name], key=lambda index: -statistics.median(by_query[name][index]))[:3]
        top = [{"index": index, "median_ms": statistics.median(by_query[name][index]),
                "sql": query_text[name][index][:600]} for index in slowest]
        page_results[name].update({
            "queries": max(counts[name]), "sql_ms": percentiles(sql_samples[name]), "slowest_queries": top,
            "all_queries": [{"median_ms": statistics.median(by_query[name][index]), "sql": query_text[name][index][:160]}
                            for index in sorted(by_query[name])],
        })
        if top:
            try:
                page_results[name]["slowest_plan"] = _explain(connection, query_text[name][top[0]["index"]])
            except Exception as exc:  # a captured text that does not re-run as is (params)
                page_results[name]["slowest_plan"] = [f"(not explained: {exc})"]
    result["pages"] = page_results
    for name, values in page_results.items():
        latency = values["latency_ms"]
        log(f"{spec['db']}: {name}: p50 {latency['p50']:.1f} ms p95 {latency['p95']:.1f} ms, "
            f"{values['queries']} queries, SQL p50 {values['sql_ms']['p50']:.1f} ms")

    # The detail page as of a past mid-month day: not stored through that day, counted from the cases.
    if spec["asof_reps"]:
        previous = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=15)
        asof: dict[str, Any] = {}
        for label, node in (("root", root), ("town", town)):
            params = {"node": node.pk, "on": previous.isoformat()}
            admin_client.get(detail, params)
            values = []
            for _round in range(spec["asof_reps"]):
                begun = time.perf_counter()
                response = admin_client.get(detail, params)
                values.append((time.perf_counter() - begun) * 1000)
            # Where the page's numbers came from (the same selector call the page makes).
            from civicgrid.indicators.models import Indicator
            from civicgrid.indicators.selectors import indicator_as_of

            probe = indicator_as_of(actor=admin, indicator=Indicator.objects.get(code=SELECTED), node=node,
                                    children=list(Node.objects.filter(parent=node, is_active=True)), day=previous)
            origin = ("day rows" if getattr(probe, "from_days", False)
                      else "counted from cases" if probe.computed else "stored period row")
            asof[label] = {"on": previous.isoformat(), "latency_ms": percentiles(values),
                           "status": response.status_code, "from": origin}
            log(f"{spec['db']}: detail as of {previous} ({label}, {origin}): p50 "
                f"{asof[label]['latency_ms']['p50']:.1f} ms p95 {asof[label]['latency_ms']['p95']:.1f} ms")
        result["detail_as_of"] = asof

    # The raw-table baseline and the grid × month rollup: the same values, 6 queries, same run.
    nodes = {"root": root, "town": town, "village": village}
    raw_page = RawPage(connection, today)
    result["rollup_build_s"] = _build_rollup(connection, today)
    rollup_page = RawPage(connection, today, "bench_case_month")
    baseline: dict[str, Any] = {}
    for variant, page in (("raw", raw_page), ("rollup", rollup_page)):
        reps = spec["raw_reps"] if variant == "raw" else spec["rollup_reps"]
        baseline[variant] = {}
        for label, node in nodes.items():
            target = {"pk": node.pk, "path": node.path}
            values = page.page(target)  # warm-up, and the values to compare
            baseline[variant][label] = {"agreement": _agreement(values, _stored(node.pk, today))}
        log(f"{spec['db']}: timing the {variant} 6-query page × {reps} (round-robin)")
        timings: dict[str, list[float]] = {label: [] for label in nodes}
        query_counts: dict[str, int] = {}
        per_query: dict[str, list[list[float]]] = {label: [] for label in nodes}
        for _round in range(reps):
            for label, node in nodes.items():
                target = {"pk": node.pk, "path": node.path}
                durations.clear()
                with connection.execute_wrapper(clock_queries):
                    begun = time.perf_counter()
                    page.page(target)
                    elapsed = (time.perf_counter() - begun) * 1000
                timings[label].append(elapsed)
                query_counts[label] = len(durations)
                per_query[label].append(list(durations))
        for label in nodes:
            baseline[variant][label].update({
                "latency_ms": percentiles(timings[label]), "queries": query_counts[label],
                "query_median_ms": [statistics.median(column) for column in zip(*per_query[label], strict=True)],
            })
            stats = baseline[variant][label]["latency_ms"]
            log(f"{spec['db']}: {variant} page {label}: p50 {stats['p50']:.1f} ms p95 {stats['p95']:.1f} ms "
                f"(values agree with stored: {baseline[variant][label]['agreement']['agree']})")
    reset_queries()
    result["baseline"] = baseline
    keep_text = False

    # Incremental: a submitted case verified (closed) by the county administrator → notify_changed.
    notify_ms: list[float] = []
    original_notify = services.notify_changed

    def timed_notify(**kwargs: Any) -> None:
        begun = time.perf_counter()
        try:
            original_notify(**kwargs)
        finally:
            notify_ms[-1] += (time.perf_counter() - begun) * 1000

    services.notify_changed = timed_notify
    first_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    candidates = list(
        Case.objects.filter(status="submitted", deadline__gte=first_month, deadline__lte=today)
        .order_by("?" if connection.vendor == "postgresql" else "id")
        .values_list("pk", flat=True)[: spec["incremental"] * 50]
    )
    step = max(1, len(candidates) // max(1, spec["incremental"] + 3))
    picked = candidates[::step][: spec["incremental"] + 3]
    verify_ms: list[float] = []
    for index, pk in enumerate(picked):
        case = Case.objects.get(pk=pk)
        notify_ms.append(0.0)
        begun = time.perf_counter()
        case_verify(actor=admin, case=case, version=case.version, now=timezone.now())
        elapsed = (time.perf_counter() - begun) * 1000
        if index >= 3:
            verify_ms.append(elapsed)
        else:
            notify_ms.pop()
    services.notify_changed = original_notify
    result["incremental"] = {
        "cases": len(verify_ms), "verify_total_ms": percentiles(verify_ms), "notify_ms": percentiles(notify_ms),
    }
    after = raw_page.page({"pk": root.pk, "path": root.path})
    result["incremental"]["root_agreement_after"] = _agreement(after, _stored(root.pk, today))
    log(f"{spec['db']}: incremental (case_verify → notify_changed) × {len(verify_ms)}: notify p50 "
        f"{result['incremental']['notify_ms'].get('p50', 0):.1f} ms p95 {result['incremental']['notify_ms'].get('p95', 0):.1f} ms; "
        f"root still agrees with raw: {result['incremental']['root_agreement_after']['agree']}")

    result["sizes"] = _db_size(connection, spec)
    return result


# --------------------------------------------------------------------------------------------
# The parent: databases, children, the table.
# --------------------------------------------------------------------------------------------


def _pg_recreate() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")  # type: ignore[arg-type]
        connection.execute(f"CREATE DATABASE {PG_DB}")  # type: ignore[arg-type]


def _pg_drop() -> None:
    import psycopg

    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)")  # type: ignore[arg-type]


def _code_state() -> dict[str, Any]:
    """Which code was measured: the commit, and whether src/ had uncommitted changes (their hash)."""
    import hashlib

    def git(*args: str) -> str:
        completed = subprocess.run(["git", *args], cwd=str(ROOT), capture_output=True, text=True, check=False)
        return completed.stdout

    diff = git("diff", "HEAD", "--", "src")
    return {"commit": git("rev-parse", "HEAD").strip(), "src_dirty_files": git("diff", "--stat", "HEAD", "--", "src")
            .strip().splitlines()[:-1], "src_diff_sha256": hashlib.sha256(diff.encode()).hexdigest() if diff else ""}


def _machine() -> dict[str, Any]:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    with contextlib.suppress(OSError, IndexError):
        memory = Path("/proc/meminfo").read_text().splitlines()[0].split(":", 1)[1].strip()
    import sqlite3

    return {"nproc": os.cpu_count(), "cpu": cpu, "memory": memory, "python": platform.python_version(),
            "sqlite_library": sqlite3.sqlite_version, "platform": platform.platform(),
            "loadavg_start": os.getloadavg()}


def snapshot_code(workdir: Path) -> tuple[Path, dict[str, Any]]:
    """The committed src/ of HEAD, exported once, so every database of a run measures the same code
    (the work tree may change under a long run)."""
    target = workdir / "code"
    target.mkdir()
    archive = subprocess.run(["git", "archive", "HEAD", "src"], cwd=str(ROOT), capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=str(ROOT), capture_output=True, text=True,
                            check=True).stdout.strip()
    return target / "src", {"commit": commit, "source": "git archive HEAD src (uncommitted changes not measured)"}


def run_child(db: str, args: argparse.Namespace, workdir: Path, result_file: Path, src: Path,
              code: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "db": db, "households": args.households, "cases": args.cases, "seed": args.seed, "reps": args.reps,
        "warmup": args.warmup, "capture_reps": args.capture_reps, "raw_reps": args.raw_reps,
        "rollup_reps": args.rollup_reps, "asof_reps": args.asof_reps, "incremental": args.incremental, "result_file": str(result_file),
    }
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "civicgrid.config.settings.base"
    env["CIVICGRID_DATA_DIR"] = str(workdir / "data")
    env["CIVICGRID_DEBUG"] = "false"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH", "")]))
    if db == "sqlite":
        spec["db_path"] = str(workdir / "dash.sqlite3")
        env["DATABASE_URL"] = f"sqlite:///{spec['db_path']}"
    else:
        _pg_recreate()
        env["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{PG_DB}"
    started = time.perf_counter()
    completed = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)],
                               env=env, cwd=str(ROOT), check=False)
    wall = time.perf_counter() - started
    if completed.returncode != 0 or not result_file.exists():
        return {"db": db, "error": f"child exited {completed.returncode}", "wall_s": wall}
    result = json.loads(result_file.read_text())
    result["wall_s"] = wall
    result["code"] = code
    return result


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def _mib(value: float | None) -> str:
    return "—" if not value else f"{value / 2**20:,.0f} MiB"


def render(results: dict[str, Any]) -> str:  # noqa: C901 - a table
    runs = [run for run in results["runs"] if "error" not in run]
    lines: list[str] = []
    if not runs:
        return "\n".join(f"{run['db']}: FAILED ({run['error']})" for run in results["runs"])
    meta = results["meta"]
    lines.append(f"Dashboard benchmark — {meta['households']:,} households, {meta['cases']:,} cases, seed {meta['seed']}; "
                 f"{meta['reps']} timed requests per page after {meta['warmup']} warm-up rounds; "
                 f"raw-table pages × {meta['raw_reps']}, grid × month rollup pages × {meta.get('rollup_reps', meta['raw_reps'])} per node. "
                 f"Started {meta['started']}.")
    lines.append("")
    names = list(runs[0]["pages"]) if runs else []
    header = "| page | " + " | ".join(
        f"{run['db']} p50 ms | {run['db']} p95 ms | {run['db']} p99 ms | {run['db']} queries" for run in runs) + " |"
    lines += [header, "|" + "---|" * (1 + 4 * len(runs))]
    for name in names:
        cells = []
        for run in runs:
            page = run["pages"][name]
            latency = page["latency_ms"]
            cells += [_ms(latency["p50"]), _ms(latency["p95"]), _ms(latency["p99"]), str(page["queries"])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("SQL time inside those pages (captured pass), p50 / p95 ms:")
    lines.append("")
    lines += ["| page | " + " | ".join(f"{run['db']} SQL p50 | {run['db']} SQL p95" for run in runs) + " |",
              "|" + "---|" * (1 + 2 * len(runs))]
    for name in names:
        cells = []
        for run in runs:
            sql = run["pages"][name]["sql_ms"]
            cells += [_ms(sql["p50"]), _ms(sql["p95"])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append("The same card values from the tables (6 queries, no rendering) vs. the stored-rollup page (full page):")
    lines.append("")
    lines += ["| node | " + " | ".join(
        f"{run['db']} raw p50 / p95 | {run['db']} grid×month p50 / p95 | {run['db']} page p50 / p95 | "
        f"{run['db']} raw÷page p95" for run in runs) + " |", "|" + "---|" * (1 + 4 * len(runs))]
    page_of = {"root": "dashboard root (county admin)", "town": "dashboard town (county admin)",
               "village": "dashboard village (county admin)"}
    for label, page_name in page_of.items():
        cells = []
        for run in runs:
            raw = run["baseline"]["raw"][label]["latency_ms"]
            rollup = run["baseline"]["rollup"][label]["latency_ms"]
            page = run["pages"][page_name]["latency_ms"]
            agree = run["baseline"]["raw"][label]["agreement"]["agree"] and run["baseline"]["rollup"][label]["agreement"]["agree"]
            cells += [f"{_ms(raw['p50'])} / {_ms(raw['p95'])}", f"{_ms(rollup['p50'])} / {_ms(rollup['p95'])}",
                      f"{_ms(page['p50'])} / {_ms(page['p95'])}",
                      f"{raw['p95'] / page['p95']:.1f}×" + ("" if agree else " (values differ!)")]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("")
    lines += ["| | " + " | ".join(run["db"] for run in runs) + " |", "|" + "---|" * (1 + len(runs))]

    def row(label: str, cells: list[str]) -> None:
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    row("database version", [str(run["db_version"]) for run in runs])
    row("rows: people / cases / inspections / nodes", [
        f"{run['facts']['people']:,} / {run['facts']['cases']:,} / {run['facts']['inspections']:,} / "
        f"{sum(run['facts']['nodes'].values()):,}" for run in runs])
    row("cases: closed on time / late / overdue / submitted past deadline / not yet due / cancelled", [
        " / ".join(f"{value:,}" for value in run["facts"].get("case_mix", {}).values()) for run in runs])
    row("generation (tree, people, assignments, inspections, cases + indexes)", [f"{run['generate_s']:.1f} s" for run in runs])
    row("  of which cases insert / index rebuild", [
        f"{run['facts']['timings']['cases']['insert_s']:.1f} s / {run['facts']['timings']['cases']['indexes_s']:.1f} s"
        for run in runs])
    row("full recompute of all indicator values", [f"{run['recompute_s']:.1f} s" for run in runs])
    row("  rows written", [f"{sum(run['recompute_rows'].values()):,}" for run in runs])
    row("incremental: case_verify → notify_changed, p50 / p95", [
        f"{_ms(run['incremental']['notify_ms'].get('p50'))} / {_ms(run['incremental']['notify_ms'].get('p95'))} ms"
        for run in runs])
    row("  whole case_verify incl. notify, p50 / p95", [
        f"{_ms(run['incremental']['verify_total_ms'].get('p50'))} / {_ms(run['incremental']['verify_total_ms'].get('p95'))} ms"
        for run in runs])
    row("  stored root values = raw after the updates", [str(run["incremental"]["root_agreement_after"]["agree"]) for run in runs])
    if all("detail_as_of" in run for run in runs) and runs:
        for label in runs[0]["detail_as_of"]:
            origin = runs[0]["detail_as_of"][label].get("from", "counted from cases")
            row(f"detail as of a past mid-month day, {label} ({origin}), p50 / p95", [
                f"{_ms(run['detail_as_of'][label]['latency_ms']['p50'])} / {_ms(run['detail_as_of'][label]['latency_ms']['p95'])} ms"
                for run in runs])
    row("grid × month rollup build", [f"{run['rollup_build_s']:.1f} s" for run in runs])
    row("database size", [_mib(run["sizes"].get("database_bytes")) for run in runs])
    row("  cases_case (+ indexes)", [_mib(run["sizes"].get("cases_case_bytes")) for run in runs])
    row("  people_person (+ indexes)", [_mib(run["sizes"].get("people_person_bytes")) for run in runs])
    row("  indicators_indicatorvalue (+ indexes)", [_mib(run["sizes"].get("indicators_indicatorvalue_bytes")) for run in runs])
    if all("day_rows" in run for run in runs):
        row("  indicators_indicatorday (+ indexes)", [_mib(run["sizes"].get("indicators_indicatorday_bytes")) for run in runs])
        row("  day rows (IndicatorDay)", [f"{run['day_rows']:,}" for run in runs])
    row("child wall time", [f"{run['wall_s']:.0f} s" for run in runs])
    lines.append("")
    worst = max((page["latency_ms"]["p95"] for run in runs for page in run["pages"].values()), default=None)
    if worst is not None:
        worst_p50 = max(page["latency_ms"]["p50"] for run in runs for page in run["pages"].values())
        lines.append(f"Stored-value pages (the five above): worst p95 {worst:.1f} ms, worst p50 {worst_p50:.1f} ms — "
                     f"floor (p95 ≤ {FLOOR_MS:.0f} ms) {'met' if worst <= FLOOR_MS else 'MISSED'}; "
                     f"aim (< {AIM_MS:.0f} ms) {'met at p95' if worst < AIM_MS else 'met at p50 only' if worst_p50 < AIM_MS else 'missed'}.")
    as_of = [(run["db"], label, value["latency_ms"]["p95"]) for run in runs
             for label, value in run.get("detail_as_of", {}).items()]
    if as_of:
        missed = [f"{db} {label} p95 {p95:.1f} ms" for db, label, p95 in as_of if p95 > FLOOR_MS]
        lines.append("Detail as of a past day inside a period: floor "
                     + (f"MISSED ({'; '.join(missed)})." if missed else "met."))
    for run in results["runs"]:
        if "error" in run:
            lines.append(f"{run['db']}: FAILED ({run['error']})")
    return "\n".join(lines)


def main() -> None:
    global PG_DB
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=5_000_000)
    parser.add_argument("--seed", type=int, default=20261129)
    parser.add_argument("--dbs", default="sqlite,postgres", help="comma-separated: sqlite, postgres")
    parser.add_argument("--reps", type=int, default=200, help="timed requests per page")
    parser.add_argument("--warmup", type=int, default=10, help="warm-up rounds over all pages")
    parser.add_argument("--capture-reps", type=int, default=30, help="requests per page with queries captured")
    parser.add_argument("--raw-reps", type=int, default=10, help="timed raw-table 6-query pages per node")
    parser.add_argument("--rollup-reps", type=int, default=30, help="timed grid × month rollup pages per node")
    parser.add_argument("--asof-reps", type=int, default=10, help="timed as-of detail pages (0: skip)")
    parser.add_argument("--incremental", type=int, default=50, help="cases closed one by one")
    parser.add_argument("--code", choices=("head", "worktree"), default="head",
                        help="measure the committed HEAD (exported once for the whole run) or the live work tree")
    parser.add_argument("--pg-db", default=PG_DB, help="the scratch PostgreSQL database (dropped and created)")
    parser.add_argument("--keep", action="store_true", help="keep the databases (SQLite file path is printed)")
    parser.add_argument("--render", metavar="FILE", help="print the table of an earlier results file")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    PG_DB = args.pg_db

    if args.child:
        spec = json.loads(args.child)
        try:
            result = child_main(spec)
        except Exception:
            traceback.print_exc()
            sys.exit(1)
        Path(spec["result_file"]).write_text(json.dumps(result, indent=1, default=str, ensure_ascii=False))
        return
    if args.render:
        print(render(json.loads(Path(args.render).read_text())))
        return

    OUT.mkdir(exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    results: dict[str, Any] = {"meta": {
        "households": args.households, "cases": args.cases, "seed": args.seed, "reps": args.reps,
        "warmup": args.warmup, "capture_reps": args.capture_reps, "raw_reps": args.raw_reps,
        "rollup_reps": args.rollup_reps, "asof_reps": args.asof_reps, "incremental": args.incremental, "started": stamp,
        "command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": _machine(),
    }, "runs": []}
    workdir = Path(tempfile.mkdtemp(prefix="cg-dash-"))
    if args.code == "head":
        src, code = snapshot_code(workdir)
    else:
        src, code = ROOT / "src", {**_code_state(), "source": "the work tree's src/"}
    results["meta"]["code"] = code
    log(f"measuring {code['source']} at {code['commit'][:12]}")
    started = time.perf_counter()
    try:
        for db in [item.strip() for item in args.dbs.split(",") if item.strip()]:
            log(f"=== {db} ===")
            run = run_child(db, args, workdir, workdir / f"{db}.json", src, code)
            results["runs"].append(run)
            log(f"=== {db}: {run.get('error', 'done')} in {run['wall_s']:.0f} s ===")
    finally:
        results["meta"]["total_s"] = time.perf_counter() - started
        results["meta"]["loadavg_end"] = os.getloadavg()
        if args.keep:
            log(f"kept: {workdir} and PostgreSQL database {PG_DB}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
            if "postgres" in args.dbs:
                try:
                    _pg_drop()
                except Exception as exc:  # the numbers matter more than the cleanup
                    log(f"could not drop {PG_DB}: {exc}")
    path = OUT / f"results-{stamp}.json"
    path.write_text(json.dumps(results, indent=1, default=str, ensure_ascii=False))
    log(f"results: {path.relative_to(ROOT)} (total {results['meta']['total_s']:.0f} s)")
    print()
    print(render(results))


if __name__ == "__main__":
    main()
