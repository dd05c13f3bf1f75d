"""Test helpers of the indicator engine: sources over existing models and a programmable snapshot
source (no test-only model, so no migration), indicator definitions, and the seed the security
matrix world uses."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from civicgrid.indicators.models import Indicator
from civicgrid.indicators.registry import Measure, Source, register_source

PEOPLE_BY_NODE = "test.people"
PEOPLE_BY_PATH = "test.people_by_path"
TABLE = "test.table"


class Table:
    """A programmable snapshot source: per node, (numerator, denominator) facts dated from a day on."""

    def __init__(self) -> None:
        self.facts: dict[int, list[tuple[dt.date, int, int]]] = defaultdict(list)
        self.paths: dict[int, str] = {}

    def add(self, node: Any, day: dt.date, numerator: int, denominator: int) -> None:
        self.facts[node.pk].append((day, numerator, denominator))
        self.paths[node.pk] = node.path

    def rows(self, *, days: Sequence[dt.date], path_prefix: str = "", node_id: int | None = None) -> Iterator[dict[str, Any]]:
        for pk, facts in self.facts.items():
            if node_id is not None and pk != node_id:
                continue
            if path_prefix and not self.paths[pk].startswith(path_prefix):
                continue
            for day in days:
                hits = [(num, den) for since, num, den in facts if since <= day]
                if hits:
                    yield {"day": day, "node_id": pk, "num": sum(h[0] for h in hits), "den": sum(h[1] for h in hits),
                           "tag": "a"}


TABLE_STATE = Table()


def register_test_sources() -> None:
    """Sources over people.Person (by address node FK and by scope path) and the table source."""
    register_source(Source(
        code=PEOPLE_BY_NODE, label="people", model="people.Person", node_field="address_node",
        date_fields=("birth_date", "created_at", "deleted_at"),
        filter_fields={"sex": ("exact", "in"), "deleted_at": ("isnull", "lte", "gt"), "created_at": ("lte", "gte")},
    ))
    register_source(Source(
        code=PEOPLE_BY_PATH, label="people by path", model="people.Person", node_field="scope_path",
        date_fields=("birth_date", "created_at"), filter_fields={"sex": ("exact", "in")},
    ))
    register_source(Source(
        code=TABLE, label="table", snapshot=lambda **kwargs: TABLE_STATE.rows(**kwargs),
        filter_fields={"tag": ("exact", "in")}, sum_fields=("num", "den"),
    ))


def indicator(code: str, numerator: Measure, denominator: Measure | None, **fields: Any) -> Indicator:
    """An indicator row straight into the table (the services' validation has its own tests)."""
    if fields.get("region_code"):
        from civicgrid.territory.models import Node

        fields["region_path"] = Node.objects.get(code=fields["region_code"]).path
    return Indicator.objects.create(
        code=code, name=fields.pop("name", code), numerator=numerator.to_json(),
        denominator=denominator.to_json() if denominator else None, **fields,
    )


def table_indicator(code: str = "table_rate", **fields: Any) -> Indicator:
    """Σnum/Σden of the table source, monthly."""
    return indicator(code, Measure(TABLE, aggregate="sum", sum_field="num"),
                     Measure(TABLE, aggregate="sum", sum_field="den"), **fields)


def seed_matrix_values(today: dt.date | None = None) -> Indicator:
    """The built-in coverage indicator synced and computed for the current and previous month, so
    every town of a test world has IndicatorValue rows (the scoping matrix needs rows on each side),
    and day rows of a flow built-in for the same reason."""
    from django.utils import timezone

    from civicgrid.indicators.services import indicator_recompute, indicators_sync_builtins

    indicators_sync_builtins(enqueue=False)
    coverage = Indicator.objects.get(code="responsibility_coverage")
    day = today or timezone.localdate()
    indicator_recompute(indicator=coverage, first=day - dt.timedelta(days=31), today=day)
    _seed_day_rows(day)
    return coverage


def _seed_day_rows(day: dt.date) -> None:
    """Day rows (IndicatorDay) of a built-in that keeps them, for today at every node of the top two
    levels (zeros: the world has no records to count), so the matrix has them on each side."""
    from civicgrid.indicators.models import IndicatorDay
    from civicgrid.indicators.services import keeps_days
    from civicgrid.territory.models import Node

    flow = next((item for item in Indicator.objects.order_by("code") if keeps_days(item)), None)
    if flow is None:
        return
    IndicatorDay.objects.bulk_create(
        [IndicatorDay(indicator=flow, node=node, scope_path=node.path, depth=node.depth, day=day)
         for node in Node.objects.filter(depth__lte=1)],
        ignore_conflicts=True,
    )
