"""The computation: what each node's own records contribute to a measure per period (one set-based
GROUP BY query per measure, or one call of a snapshot function), and the roll-up of those
contributions to every ancestor through the materialised path.

Semantics (see README.md in this package):
- A period P of the indicator's kind is counted through a cut day C (P's first day ≤ C ≤ P's last):
  a flow measure (window "period") takes records whose date field falls in [P.start, C]; a stock
  measure (window "cumulative") takes records dated on or before C; a snapshot measure takes the
  snapshot of day C. Dates are local (Asia/Shanghai); records without a date are not placed.
- The value of a node is Σ numerator ÷ Σ denominator over the records of its whole subtree; ratios
  are never averaged.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connections, models
from django.db.models import Case, Count, F, Q, Sum, Value, When
from django.utils import timezone

from civicgrid.indicators.periods import Cut
from civicgrid.indicators.registry import Aggregate, Measure, Source, Window, get_source, split_filter_key

Key = tuple[int, dt.date]  # (node id, period start)


def node_ids_of(path: str) -> list[int]:
    """"/1/4/17/" -> [1, 4, 17] (root first)."""
    return [int(part) for part in path.strip("/").split("/") if part]


def _local_midnight(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min), timezone.get_default_timezone())


def _filters_q(filters: Mapping[str, Any]) -> Q:
    condition = Q()
    for key, value in filters.items():
        name, lookup = split_filter_key(key)
        if isinstance(value, Mapping):
            value = F(value["field"])
        elif lookup == "in":
            value = list(value)
        condition &= Q(**{f"{name}__{lookup}": value})
    return condition


def _matches(row: Mapping[str, Any], filters: Mapping[str, Any]) -> bool:
    """The filters applied to one snapshot row, in Python."""
    for key, wanted in filters.items():
        name, lookup = split_filter_key(key)
        value = row.get(name)
        if lookup == "exact":
            ok = value == wanted
        elif lookup == "in":
            ok = value in wanted
        elif lookup == "isnull":
            ok = (value is None) == bool(wanted)
        elif value is None:
            ok = False
        else:
            ok = {"gt": value > wanted, "gte": value >= wanted, "lt": value < wanted, "lte": value <= wanted}[lookup]
        if not ok:
            return False
    return True


def _node_of(value: Any, by_path: bool) -> int | None:
    if value is None:
        return None
    if by_path:
        ids = node_ids_of(str(value))
        return ids[-1] if ids else None
    return int(value)


def _where_node(source: Source, *, path_prefix: str, node_id: int | None, node_path: str) -> Q:
    condition = Q()
    if source.node_is_path:
        if path_prefix:
            condition &= Q(**{f"{source.node_field}__startswith": path_prefix})
        if node_id is not None:
            condition &= Q(**{source.node_field: node_path})
    else:
        if path_prefix:
            condition &= Q(**{f"{source.node_field}__path__startswith": path_prefix})
        if node_id is not None:
            condition &= Q(**{f"{source.node_field}_id": node_id})
    return condition


def _measure_aggregates(measures: Sequence[Measure], key_field: str) -> dict[str, Any]:
    """One conditional aggregate per measure, named measure_<index>. A count counts the node column,
    not the primary key: the same number (records without a node are not placed anyway), and an index
    on (date, node, filter columns) then covers the whole scan (PostgreSQL: an index-only scan)."""
    found: dict[str, Any] = {}
    for index, measure in enumerate(measures):
        condition = _filters_q(measure.filters) if measure.filters else None
        found[f"measure_{index}"] = (
            Count(key_field, filter=condition) if measure.aggregate == Aggregate.COUNT
            else Sum(measure.sum_field, filter=condition)
        )
    return found


def _model_own(
    source: Source, measures: Sequence[Measure], cuts: Sequence[Cut], *, path_prefix: str, node_id: int | None,
    node_path: str,
) -> list[dict[Key, int]]:
    """Measures sharing a source, date field and window, in one scan: GROUP BY node and period, one
    conditional aggregate per measure. The period comes from comparisons with the period bounds (a
    CASE), not from a date function per row, so both databases stay on plain column comparisons."""
    model = source.get_model()
    date_name, window = measures[0].date_field, measures[0].window
    is_datetime = isinstance(model._meta.get_field(date_name), models.DateTimeField)

    by_path = source.node_is_path
    key_field = source.node_field if by_path else f"{source.node_field}_id"

    def bound(day: dt.date) -> dt.date | dt.datetime:
        return _local_midnight(day) if is_datetime else day

    first, last = cuts[0].start, cuts[-1].day
    base = model._default_manager.filter(
        _where_node(source, path_prefix=path_prefix, node_id=node_id, node_path=node_path)
    )
    stock = window == Window.CUMULATIVE
    # Bucket -1 holds a stock's records from before the first period (the same scan counts them).
    edges = [(-1, first)] if stock else []
    edges += [(index, cuts[index + 1].start) for index in range(len(cuts) - 1)]
    bucket = Case(
        *[When(**{f"{date_name}__lt": bound(edge)}, then=Value(index)) for index, edge in edges],
        default=Value(len(cuts) - 1), output_field=models.IntegerField(),
    )
    within = base.filter(**{f"{date_name}__lt": bound(last + dt.timedelta(days=1))})
    if not stock:
        within = within.filter(**{f"{date_name}__gte": bound(first)})
    flows: list[dict[Key, int]] = [defaultdict(int) for _measure in measures]
    befores: list[dict[int, int]] = [defaultdict(int) for _measure in measures]
    aggregates = _measure_aggregates(measures, key_field)
    rows = within.annotate(period_bucket=bucket).values(key_field, "period_bucket").annotate(**aggregates).order_by()
    for row in rows:
        node = _node_of(row[key_field], by_path)
        if node is None:
            continue
        for index, flow in enumerate(flows):
            value = row[f"measure_{index}"]
            if not value:
                continue
            if row["period_bucket"] < 0:
                befores[index][node] += int(value)
            else:
                flow[(node, cuts[row["period_bucket"]].start)] += int(value)
    if not stock:
        return [dict(flow) for flow in flows]

    # A stock: what was there before the first period, then each period's additions, running.
    results = []
    for flow, before in zip(flows, befores, strict=True):
        result: dict[Key, int] = {}
        for node in set(before) | {node for node, _start in flow}:
            running = before.get(node, 0)
            for cut in cuts:
                running += flow.get((node, cut.start), 0)
                if running:
                    result[(node, cut.start)] = running
        results.append(result)
    return results


def _snapshot_own(
    source: Source, measure: Measure, cuts: Sequence[Cut], *, path_prefix: str, node_id: int | None
) -> dict[Key, int]:
    if source.snapshot is None:
        raise ValueError(f"{source.code} is not a snapshot source")
    start_of = {cut.day: cut.start for cut in cuts}
    result: dict[Key, int] = defaultdict(int)
    for row in source.snapshot(days=[cut.day for cut in cuts], path_prefix=path_prefix, node_id=node_id):
        if row["day"] not in start_of or not _matches(row, measure.filters):
            continue
        value = 1 if measure.aggregate == Aggregate.COUNT else int(row.get(measure.sum_field) or 0)
        if value:
            result[(int(row["node_id"]), start_of[row["day"]])] += value
    return dict(result)


def own_values(
    measure: Measure, kind: str, cuts: Sequence[Cut], *, path_prefix: str = "", node_id: int | None = None,
    node_path: str = "",
) -> dict[Key, int]:
    """What records attributed to each node contribute to the measure in each cut period, for nodes
    under `path_prefix` (or the one node `node_id`, whose path is `node_path`). Cuts are consecutive
    periods of `kind`; only the last may end before the period does."""
    return own_values_many([measure], kind, cuts, path_prefix=path_prefix, node_id=node_id, node_path=node_path)[0]


def own_values_by_day(
    measures: Sequence[Measure], first: dt.date, last: dt.date, *, path_prefix: str = "", chunk: int = 31,
) -> list[dict[Key, int]]:
    """What each node's own records contribute to flow measures on each day from `first` to `last`
    ((node, day) -> value; a day is its own period). Measures sharing a model source and a date
    field that is a DateField are counted in one scan grouped by the date itself — in the order of
    an index on (date, node, ...), read through the cursor (a year of a county is a million groups);
    others (datetimes) by own_values_many over day cuts, `chunk` days per scan."""
    results: list[dict[Key, int]] = [{} for _measure in measures]
    if first > last:
        return results
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for index, measure in enumerate(measures):
        if measure.window != Window.PERIOD:
            raise ValueError("own_values_by_day counts flows only")
        groups[(measure.source, measure.date_field)].append(index)
    for (source_code, date_name), indexes in groups.items():
        source = get_source(source_code)
        chosen = [measures[index] for index in indexes]
        if source.is_snapshot or isinstance(source.get_model()._meta.get_field(date_name), models.DateTimeField):
            days = [first + dt.timedelta(days=offset) for offset in range((last - first).days + 1)]
            found: list[dict[Key, int]] = [{} for _measure in chosen]
            for start in range(0, len(days), chunk):
                cuts = [Cut(day, day) for day in days[start:start + chunk]]
                for into, values in zip(found, own_values_many(chosen, "day", cuts, path_prefix=path_prefix), strict=True):
                    into.update(values)
        else:
            found = _model_by_day(source, chosen, first, last, path_prefix=path_prefix)
        for index, values in zip(indexes, found, strict=True):
            results[index] = values
    return results


def _model_by_day(
    source: Source, measures: Sequence[Measure], first: dt.date, last: dt.date, *, path_prefix: str
) -> list[dict[Key, int]]:
    model = source.get_model()
    date_name = measures[0].date_field
    by_path = source.node_is_path
    key_field = source.node_field if by_path else f"{source.node_field}_id"
    aggregates = _measure_aggregates(measures, key_field)
    queryset = (
        model._default_manager.filter(_where_node(source, path_prefix=path_prefix, node_id=None, node_path=""))
        .filter(**{f"{date_name}__gte": first, f"{date_name}__lte": last})
        .values(date_name, key_field).annotate(**aggregates).order_by()
    )
    sql, params = queryset.query.sql_with_params()
    found: list[dict[Key, int]] = [defaultdict(int) for _measure in measures]
    days: dict[Any, dt.date] = {}
    nodes: dict[Any, int | None] = {}
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(sql, params)
        while True:
            rows = cursor.fetchmany(10_000)
            if not rows:
                break
            for row in rows:
                raw_day, raw_node = row[0], row[1]
                day = days.get(raw_day)
                if day is None:
                    day = days[raw_day] = (
                        raw_day if isinstance(raw_day, dt.date) else dt.date.fromisoformat(str(raw_day))
                    )
                if raw_node not in nodes:
                    nodes[raw_node] = _node_of(raw_node, by_path)
                node = nodes[raw_node]
                if node is None:
                    continue
                for index, value in enumerate(row[2:]):
                    if value:
                        found[index][(node, day)] += int(value)
    return [dict(values) for values in found]


def own_values_many(
    measures: Sequence[Measure], kind: str, cuts: Sequence[Cut], *, path_prefix: str = "", node_id: int | None = None,
    node_path: str = "",
) -> list[dict[Key, int]]:
    """own_values for several measures; those reading the same source by the same date field and
    window (a numerator and its denominator, typically) share one scan."""
    results: list[dict[Key, int]] = [{} for _measure in measures]
    if not cuts:
        return results
    groups: dict[tuple[str, str, str], list[int]] = defaultdict(list)
    for index, measure in enumerate(measures):
        groups[(measure.source, measure.date_field, str(measure.window))].append(index)
    for (source_code, _date, _window), indexes in groups.items():
        source = get_source(source_code)
        if source.is_snapshot:
            for index in indexes:
                results[index] = _snapshot_own(source, measures[index], cuts, path_prefix=path_prefix, node_id=node_id)
            continue
        found = _model_own(source, [measures[index] for index in indexes], cuts, path_prefix=path_prefix,
                           node_id=node_id, node_path=node_path)
        for index, values in zip(indexes, found, strict=True):
            results[index] = values
    return results


@dataclass
class Totals:
    """Numerator and denominator of one node in one period: over its subtree and its own records."""

    numerator: int = 0
    denominator: int = 0
    own_numerator: int = 0
    own_denominator: int = 0


def roll_up(
    numerators: Mapping[Key, int], denominators: Mapping[Key, int], paths: Mapping[int, str]
) -> dict[Key, Totals]:
    """Add each node's own contribution to itself and every ancestor (from its materialised path).
    Contributions of nodes missing from `paths` (deleted since) are dropped."""
    totals: dict[Key, Totals] = defaultdict(Totals)
    chains: dict[int, list[int]] = {}

    def chain(node: int) -> list[int]:
        if node not in chains:
            chains[node] = node_ids_of(paths[node]) if node in paths else []
        return chains[node]

    for (node, start), value in numerators.items():
        if not chain(node):
            continue
        totals[(node, start)].own_numerator += value
        for ancestor in chain(node):
            totals[(ancestor, start)].numerator += value
    for (node, start), value in denominators.items():
        if not chain(node):
            continue
        totals[(node, start)].own_denominator += value
        for ancestor in chain(node):
            totals[(ancestor, start)].denominator += value
    return dict(totals)


def measures_using(specs: Iterable[Measure | None], source: str) -> bool:
    """Whether any of the specs reads the source."""
    return any(spec is not None and spec.source == source for spec in specs)
