"""The detail page "as of a past day" counts from the cases table (`services.compute` for the node's
subtree): its query plan and time, as migrated and with a candidate covering index, on a database
kept by `run.py --keep`.

    .venv/bin/python bench/dashboard/explain_asof.py --sqlite /tmp/cg-dash-XXXX/dash.sqlite3
    .venv/bin/python bench/dashboard/explain_asof.py --postgres

Times `compute(closure_rate, [15th of last month])` for the root and the first town `--reps` times
without the index, creates it (timed), times again, prints both plans, and drops the index, so the
kept database is left as migrated (on PostgreSQL the table is vacuumed first, as autovacuum would,
so an index-only scan is possible at all). Alternating rounds (without, with, without, with) are not
possible without rebuilding the index; each block is preceded by one untimed warm-up call.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
INDEX = "bench_cases_asof_cover"
COLUMNS = "deadline, node_id, status, closed_on_time, rejection_count"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--sqlite", metavar="FILE")
    where.add_argument("--postgres", action="store_true", help="the kept cg_dash database")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--src", default=str(ROOT / "src"), help="the civicgrid source to import")
    parser.add_argument("--recompute", action="store_true",
                        help="also time indicator_recompute(closure_rate) (a year of periods) once per block")
    args = parser.parse_args()

    os.environ["DJANGO_SETTINGS_MODULE"] = "civicgrid.config.settings.base"
    os.environ.setdefault("CIVICGRID_DATA_DIR", tempfile.mkdtemp(prefix="cg-dash-explain-"))
    os.environ["DATABASE_URL"] = (f"sqlite:///{args.sqlite}" if args.sqlite
                                  else "postgres://postgres@127.0.0.1:5432/cg_dash")
    sys.path.insert(0, args.src)
    import django

    django.setup()
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from civicgrid.indicators.models import Indicator
    from civicgrid.indicators.periods import Cut, period_start
    from civicgrid.indicators.services import compute, indicator_recompute
    from civicgrid.territory.models import Node

    indicator = Indicator.objects.get(code="closure_rate")
    today = timezone.localdate()
    day = (period_start("month", today) - dt.timedelta(days=1)).replace(day=15)
    cut = Cut(period_start("month", day), day)
    nodes = [Node.objects.get(kind="district"), Node.objects.filter(kind="town").order_by("pk").first()]

    def plan() -> list[str]:
        with CaptureQueriesContext(connection) as context:
            compute(indicator, [cut], prefix=nodes[1].path)
        sql = next(query["sql"] for query in context.captured_queries if "cases_case" in query["sql"])
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                cursor.execute("EXPLAIN QUERY PLAN " + sql)
                return [str(row[-1]) for row in cursor.fetchall()]
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            return [row[0] for row in cursor.fetchall()]

    def block(label: str) -> None:
        for node in nodes:
            compute(indicator, [cut], prefix=node.path)  # warm-up
            samples = []
            for _round in range(args.reps):
                begun = time.perf_counter()
                compute(indicator, [cut], prefix=node.path)
                samples.append((time.perf_counter() - begun) * 1000)
            print(f"{label:<14} {node.code:<8} compute as of {day}: median {statistics.median(samples):.1f} ms "
                  f"(min {min(samples):.1f}, max {max(samples):.1f}, n={len(samples)})")
        for line in plan():
            print(f"{'':14} plan (town): {line}")
        if args.recompute:
            begun = time.perf_counter()
            rows = indicator_recompute(indicator=indicator)
            print(f"{label:<14} indicator_recompute(closure_rate): {time.perf_counter() - begun:.1f} s, {rows} rows")

    print(f"{connection.vendor}: as-of compute of {indicator.code}, {args.reps} reps per node")
    if connection.vendor == "postgresql":
        # A freshly loaded table has no visibility map, so no index-only scan could be chosen; autovacuum
        # would set it in production. Vacuum once, before both blocks.
        with connection.cursor() as cursor:
            begun = time.perf_counter()
            cursor.execute("VACUUM (ANALYZE) cases_case")
            print(f"VACUUM (ANALYZE) cases_case: {time.perf_counter() - begun:.1f} s")
    block("as migrated")
    # The engine counts COUNT("cases_case"."id"): SQLite has the rowid in every index, PostgreSQL needs
    # the id in the index (or COUNT(*) in the query) for an index-only scan.
    include = " INCLUDE (id)" if connection.vendor == "postgresql" else ""
    with connection.cursor() as cursor:
        begun = time.perf_counter()
        cursor.execute(f"CREATE INDEX {INDEX} ON cases_case ({COLUMNS}){include}")
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM (ANALYZE) cases_case")
        print(f"CREATE INDEX {INDEX} ON cases_case ({COLUMNS}){include}: {time.perf_counter() - begun:.1f} s")
    try:
        block("covering index")
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP INDEX {INDEX}")


if __name__ == "__main__":
    main()
