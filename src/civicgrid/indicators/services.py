"""Writes on indicators: definitions (validated, audited), the built-in sync, full recomputation of
stored values and the incremental update a domain app triggers after a change (`notify_changed`).

Stored values: one IndicatorValue row per (indicator, node, period) for every node whose subtree
has a non-zero numerator or denominator, plus one row per period for each top node of the
indicator's area (the tree's roots, or its region's node) — the marker that the period is stored.
Past periods are cut at their last day; the running period at the day of its last refresh."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from civicgrid.accounts.roles import Action
from civicgrid.core import audit
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction
from civicgrid.indicators.engine import Totals, node_ids_of, own_values_by_day, own_values_many, roll_up
from civicgrid.indicators.models import Indicator, IndicatorDay, IndicatorValue
from civicgrid.indicators.periods import Cut, next_start, period_end, period_start, starts_between
from civicgrid.indicators.registry import (
    BuiltinIndicator,
    Direction,
    Measure,
    PeriodKind,
    Unit,
    Window,
    builtins,
    get_source,
    validate_measure,
)
from civicgrid.territory.models import Node

logger = logging.getLogger(__name__)

# How far back a recomputation goes when no start is given.
HISTORY_DAYS = 365
# Periods computed and written together (one transaction each): a progress step.
CHUNK = {PeriodKind.DAY: 31, PeriodKind.WEEK: 27, PeriodKind.MONTH: 25, PeriodKind.YEAR: 10}
# Times a recomputation computes outside the lock before it computes holding it.
RACE_RETRIES = 2
BATCH_SIZE = 1000
ANALYZE_AFTER = 10_000  # rows
# Levels below the top node of an indicator's area that keep day rows (IndicatorDay): with 1, the
# county and its towns (setting CIVICGRID_INDICATOR_DAY_LEVELS).
DAY_LEVELS = 1
# Days counted in one scan when day rows are recomputed from a datetime (one CASE branch per day).
DAY_CHUNK = 31
# Fields a built-in's registration owns; the others (name, target, region, validity, on/off, order)
# are the administrators' and survive a sync.
BUILTIN_OWNED = ("numerator", "denominator", "unit", "direction", "period", "description")
EDITABLE = ("name", "description", "unit", "numerator", "denominator", "target", "direction", "period",
            "region_code", "valid_from", "valid_to", "is_active", "order")

Progress = Callable[[int, int], object]
AUDITED = ["code", *EDITABLE, "is_builtin"]


def _snapshot(indicator: Indicator) -> dict[str, Any]:
    """The definition's fields for the audit trail (not timestamps or the revision counter)."""
    return audit.snapshot(indicator, fields=AUDITED)


# --- definitions -------------------------------------------------------------------------------


def _require_manager(actor: Any) -> None:
    if actor is not None and not actor.can(Action.MANAGE_INDICATORS):
        raise PermissionError("manage_indicators required")


def measures_of(indicator: Indicator) -> tuple[Measure, Measure | None]:
    """The parsed numerator and denominator (None for a count indicator)."""
    numerator = Measure.from_json(indicator.numerator)
    denominator = (
        Measure.from_json(indicator.denominator)
        if indicator.has_denominator and indicator.denominator is not None else None
    )
    return numerator, denominator


def _clean(data: Mapping[str, Any]) -> dict[str, Any]:
    """Definition fields checked and normalised; an ApplicationError names what is wrong."""
    cleaned = dict(data)
    if "name" in cleaned and not str(cleaned["name"]).strip():
        raise ApplicationError(_("指标名称不能为空。"))
    if cleaned.get("unit", Unit.PERCENT) not in set(Unit):
        raise ApplicationError(_("未知的单位：%(value)s。") % {"value": cleaned["unit"]})
    if cleaned.get("direction", Direction.HIGHER) not in set(Direction):
        raise ApplicationError(_("未知的方向：%(value)s。") % {"value": cleaned["direction"]})
    if cleaned.get("period", PeriodKind.MONTH) not in set(PeriodKind):
        raise ApplicationError(_("未知的统计周期：%(value)s。") % {"value": cleaned["period"]})
    if "numerator" in cleaned:
        cleaned["numerator"] = validate_measure(cleaned["numerator"], side=_("分子")).to_json()
    unit = cleaned.get("unit", Unit.PERCENT)
    if unit == Unit.COUNT:
        cleaned["denominator"] = None
    elif "denominator" in cleaned:
        if cleaned["denominator"] is None:
            raise ApplicationError(_("比率指标须有分母（只计数量请选单位“数量”）。"))
        cleaned["denominator"] = validate_measure(cleaned["denominator"], side=_("分母")).to_json()
    target = cleaned.get("target")
    if target is not None:
        try:
            cleaned["target"] = Decimal(str(target)).quantize(Decimal("0.0001"))
        except InvalidOperation:
            raise ApplicationError(_("目标值必须是数字。")) from None
    region = str(cleaned.get("region_code") or "").strip()
    cleaned["region_code"] = region
    cleaned["region_path"] = ""
    if region:
        cleaned["region_path"] = Node.objects.filter(code=region).values_list("path", flat=True).first() or ""
        if not cleaned["region_path"]:
            raise ApplicationError(_("适用区域的节点编码不存在：%(code)s。") % {"code": region})
    valid_from, valid_to = cleaned.get("valid_from"), cleaned.get("valid_to")
    if valid_from and valid_to and valid_to <= valid_from:
        raise ApplicationError(_("停用日期须晚于启用日期。"))
    return cleaned


def indicator_validate(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check a definition without saving it (the edit form's and the API's validation)."""
    return _clean(data)


def _after_formula_change(indicator: Indicator) -> None:
    """Stored values no longer match the definition: recompute them after commit (background task)."""
    from civicgrid.indicators.tasks import recompute_indicators

    first = (
        IndicatorValue.objects.filter(indicator=indicator).order_by("period_start")
        .values_list("period_start", flat=True).first()
    )
    args = ([indicator.code], first.isoformat() if first else None)
    transaction.on_commit(lambda: recompute_indicators.enqueue(*args))


def indicator_create(*, actor: Any, code: str, name: str, numerator: Any, denominator: Any = None,
                     **fields: Any) -> Indicator:
    """Define an indicator (MANAGE_INDICATORS); its values are computed in the background."""
    _require_manager(actor)
    code = slugify(code.strip()).replace("-", "_")
    if not code or code == "new":
        raise ApplicationError(_("指标编码只能含字母、数字和下划线。"))
    unknown = sorted(set(fields) - set(EDITABLE))
    if unknown:
        raise ValueError(f"unknown indicator fields {unknown}")
    cleaned = _clean({"name": name, "numerator": numerator, "denominator": denominator, **fields})
    with transaction.atomic():
        if Indicator.objects.filter(code=code).exists():
            raise ApplicationError(_("指标编码 %(code)s 已存在。") % {"code": code})
        indicator = Indicator.objects.create(code=code, **cleaned)
        audit.record(actor=actor, action=AuditAction.CREATE, instance=indicator, after=_snapshot(indicator))
        _after_formula_change(indicator)
    return indicator


def indicator_update(*, actor: Any, indicator: Indicator, **changes: Any) -> Indicator:
    """Change a definition (MANAGE_INDICATORS). A built-in's formula belongs to its app: only its
    name, target, region, validity, on/off and order change here."""
    _require_manager(actor)
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise ValueError(f"unknown indicator fields {unknown}")
    if indicator.is_builtin:
        locked = [key for key in BUILTIN_OWNED if key in changes and changes[key] != getattr(indicator, key)]
        if locked:
            raise ApplicationError(_("内置指标的公式由系统维护，不能修改：%(fields)s。") % {"fields": ", ".join(locked)})
    current = {key: getattr(indicator, key) for key in EDITABLE}
    cleaned = _clean({**current, **changes})
    with transaction.atomic():
        locked_row = Indicator.objects.select_for_update().get(pk=indicator.pk)
        before = _snapshot(locked_row)
        for key in [*changes, "region_path"]:
            setattr(locked_row, key, cleaned[key])
        locked_row.save()
        before, after = audit.changed(before, _snapshot(locked_row))
        if after:
            audit.record(actor=actor, action=AuditAction.UPDATE, instance=locked_row, before=before, after=after)
        if set(after) & {"numerator", "denominator", "unit", "period", "region_code", "valid_from", "valid_to"}:
            _after_formula_change(locked_row)
    return locked_row


def indicators_sync_builtins(*, enqueue: bool = True) -> dict[str, int]:
    """Write the registered built-in indicators to the table: create the missing ones, update the
    formula of existing ones where the registration changed. With `enqueue`, the values of created or
    changed ones are recomputed in the background. Returns counts by outcome."""
    counts = {"created": 0, "updated": 0, "unchanged": 0}
    for definition in sorted(builtins().values(), key=lambda item: (item.order, item.code)):
        counts[_sync_one(definition, enqueue=enqueue)] += 1
    return counts


def _builtin_fields(definition: BuiltinIndicator) -> dict[str, Any]:
    return {
        "numerator": validate_measure(definition.numerator, side=_("分子")).to_json(),
        "denominator": (
            validate_measure(definition.denominator, side=_("分母")).to_json()
            if definition.denominator is not None and definition.unit != Unit.COUNT else None
        ),
        "unit": str(definition.unit),
        "direction": str(definition.direction),
        "period": str(definition.period),
        "description": str(definition.description),
    }


def _sync_one(definition: BuiltinIndicator, *, enqueue: bool) -> str:
    owned = _builtin_fields(definition)
    with transaction.atomic():
        existing = Indicator.objects.select_for_update().filter(code=definition.code).first()
        if existing is None:
            region_path = (
                Node.objects.filter(code=definition.region_code).values_list("path", flat=True).first() or ""
                if definition.region_code else ""
            )
            indicator = Indicator.objects.create(
                code=definition.code, name=str(definition.name), target=definition.target,
                region_code=definition.region_code, region_path=region_path, valid_from=definition.valid_from, valid_to=definition.valid_to,
                order=definition.order, is_builtin=True, **owned,
            )
            audit.record(actor=None, action=AuditAction.CREATE, instance=indicator, after=_snapshot(indicator),
                         reason="indicators sync")
            if enqueue:
                _after_formula_change(indicator)
            return "created"
        before = _snapshot(existing)
        for key, value in owned.items():
            setattr(existing, key, value)
        existing.is_builtin = True
        changed_before, changed_after = audit.changed(before, _snapshot(existing))
        if not changed_after:
            return "unchanged"
        existing.save()
        audit.record(actor=None, action=AuditAction.UPDATE, instance=existing, before=changed_before,
                     after=changed_after, reason="indicators sync")
        if enqueue:
            _after_formula_change(existing)
        return "updated"


# --- computation -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Area:
    """Where an indicator is computed: a path prefix ("" = the whole tree) and its top nodes."""

    prefix: str
    anchors: tuple[int, ...]

    @property
    def empty(self) -> bool:
        return not self.anchors


def area_of(indicator: Indicator) -> Area:
    """The subtree of the indicator's region, or the whole tree."""
    if indicator.region_code:
        region = Node.objects.filter(code=indicator.region_code).values_list("pk", "path").first()
        return Area(region[1], (region[0],)) if region else Area("", ())
    return Area("", tuple(Node.objects.filter(parent__isnull=True).values_list("pk", flat=True)))


def cuts_for(indicator: Indicator, starts: Iterable[dt.date], today: dt.date) -> list[Cut]:
    """Each period counted through its last day, or through today while it runs; periods outside
    the indicator's validity or still to come are left out."""
    cuts = []
    for start in starts:
        end = period_end(indicator.period, start)
        if start > today or (indicator.valid_from and end < indicator.valid_from):
            continue
        if indicator.valid_to and start >= indicator.valid_to:
            continue
        cuts.append(Cut(start, min(end, today)))
    return cuts


def _nodes(prefix: str) -> dict[int, tuple[str, int]]:
    queryset: QuerySet[Node] = Node.objects.all()
    if prefix:
        queryset = queryset.filter(path__startswith=prefix)
    return {pk: (path, depth) for pk, path, depth in queryset.values_list("pk", "path", "depth")}


def compute(
    indicator: Indicator, cuts: list[Cut], *, prefix: str | None = None
) -> tuple[dict[Any, Totals], dict[int, tuple[str, int]]]:
    """Totals of every node under `prefix` (default: the indicator's area) for the cut periods, and
    the nodes' (path, depth). Nothing is written."""
    area = area_of(indicator)
    if area.empty:
        return {}, {}
    if prefix is None or (area.prefix and area.prefix.startswith(prefix)):
        prefix = area.prefix
    elif area.prefix and not prefix.startswith(area.prefix):
        return {}, {}  # a subtree outside the indicator's region
    numerator, denominator = measures_of(indicator)
    found = own_values_many([numerator, *([denominator] if denominator else [])], indicator.period, cuts,
                            path_prefix=prefix)
    numerators, denominators = found[0], (found[1] if denominator else {})
    nodes = _nodes(prefix)
    return roll_up(numerators, denominators, {pk: path for pk, (path, _depth) in nodes.items()}), nodes


def _value_row(indicator: Indicator, node: int, place: tuple[str, int], cut: Cut, totals: Totals,
               now: dt.datetime) -> IndicatorValue:
    return IndicatorValue(
        indicator=indicator, node_id=node, scope_path=place[0], depth=place[1], period_kind=indicator.period,
        period_start=cut.start, as_of=cut.day, numerator=totals.numerator, denominator=totals.denominator,
        own_numerator=totals.own_numerator, own_denominator=totals.own_denominator, computed_at=now,
    )


VALUE_COLUMNS = ("indicator_id", "node_id", "scope_path", "depth", "period_kind", "period_start", "as_of", "numerator",
                 "denominator", "own_numerator", "own_denominator", "computed_at")


def _insert_values(rows: list[tuple[Any, ...]], model: type[models.Model] = IndicatorValue,
                   names: Sequence[str] = VALUE_COLUMNS) -> None:
    """Insert value rows with executemany: a recomputation writes tens of thousands of them, and the
    ORM's bulk_create spends most of its time preparing values one field at a time."""
    if not rows:
        return
    table = connection.ops.quote_name(model._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(column) for column in names)
    sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(names))})"  # noqa: S608 - fixed names
    with connection.cursor() as cursor:
        for index in range(0, len(rows), BATCH_SIZE * 5):
            cursor.executemany(sql, rows[index:index + BATCH_SIZE * 5])


def _write(indicator: Indicator, cuts: list[Cut], totals: Mapping[Any, Totals], nodes: Mapping[int, tuple[str, int]]) -> int:
    area = area_of(indicator)
    ops = connection.ops
    now = ops.adapt_datetimefield_value(timezone.now())
    by_start = {cut.start: cut for cut in cuts}
    days = {cut.start: (ops.adapt_datefield_value(cut.start), ops.adapt_datefield_value(cut.day)) for cut in cuts}
    kind = indicator.period

    def row(node: int, start: dt.date, value: Totals) -> tuple[Any, ...]:
        path, depth = nodes[node]
        return (indicator.pk, node, path, depth, kind, *days[start], value.numerator, value.denominator,
                value.own_numerator, value.own_denominator, now)

    kept = [
        (node, start, value) for (node, start), value in totals.items()
        if start in by_start and node in nodes
        and (value.numerator or value.denominator or value.own_numerator or value.own_denominator)
    ]
    rows = [row(node, start, value) for node, start, value in kept]
    present = {(node, start) for node, start, _value in kept}
    rows += [row(anchor, cut.start, Totals()) for cut in cuts for anchor in area.anchors
             if anchor in nodes and (anchor, cut.start) not in present]
    IndicatorValue.objects.filter(indicator=indicator, period_kind=kind, period_start__in=list(by_start)).delete()
    _insert_values(rows)
    return len(rows)


def _recompute_cuts(indicator: Indicator, cuts: list[Cut]) -> int:
    """Compute and replace the stored values (and day rows) of the cut periods. The computation runs
    outside the lock; when an incremental update committed meanwhile (the revision moved) it runs
    again, and the last time holding the indicator's row lock, so no update is lost."""
    for attempt in range(RACE_RETRIES + 1):
        final = attempt == RACE_RETRIES
        seen = None
        if not final:
            seen = Indicator.objects.filter(pk=indicator.pk).values_list("revision", flat=True).get()
            totals, nodes = compute(indicator, cuts)
            days = compute_days(indicator, cuts)
        with transaction.atomic():
            locked = Indicator.objects.select_for_update().only("pk", "revision").get(pk=indicator.pk)
            if final:
                totals, nodes = compute(indicator, cuts)
                days = compute_days(indicator, cuts)
            elif locked.revision != seen:
                continue
            written = _write(indicator, cuts, totals, nodes)
            _write_days(indicator, cuts, days)
            return written
    raise AssertionError("unreachable")  # pragma: no cover


# --- day rows (as of a day inside a period) ----------------------------------------------------


def day_levels() -> int:
    """Levels below the top node of an indicator's area that keep day rows."""
    return max(0, int(getattr(settings, "CIVICGRID_INDICATOR_DAY_LEVELS", DAY_LEVELS)))


def keeps_days(indicator: Indicator) -> bool:
    """Whether the indicator keeps day rows: periods longer than a day, and a numerator and denominator
    that are flows over model sources — then a period counted through day D is the sum of its days up
    to D. A stock or a snapshot is not a sum of days; those are counted from the registries."""
    if indicator.period == PeriodKind.DAY:
        return False
    try:
        sides = [side for side in measures_of(indicator) if side is not None]
        return all(side.window == Window.PERIOD and not get_source(side.source).is_snapshot for side in sides)
    except ApplicationError:
        return False


def day_top_depth(indicator: Indicator) -> int | None:
    """The depth of the top node of the indicator's area (None: its region is missing)."""
    if not indicator.region_code:
        return 0
    if not indicator.region_path:
        return None
    return len(node_ids_of(indicator.region_path)) - 1


def _days_of(cuts: Sequence[Cut]) -> list[dt.date]:
    days = []
    for cut in cuts:
        day = cut.start
        while day <= cut.day:
            days.append(day)
            day += dt.timedelta(days=1)
    return days


# (node, day) -> [numerator, denominator, own_numerator, own_denominator]
DayTotals = dict[tuple[int, dt.date], list[int]]


def compute_days(indicator: Indicator, cuts: Sequence[Cut]) -> DayTotals:
    """(node, day) -> [numerator, denominator, own numerator, own denominator] for every day of the cut
    periods (through each cut day) and every node of the area down to the day levels: the totals over
    the node's subtree; "own" is the node's own records, or its whole subtree at the lowest level kept
    (see IndicatorDay). Nothing is written. Empty when the indicator keeps no day rows."""
    area = area_of(indicator)
    top = day_top_depth(indicator)
    if area.empty or top is None or not keeps_days(indicator) or not cuts:
        return {}
    limit = top + day_levels()
    numerator, denominator = measures_of(indicator)
    measures = [numerator, *([denominator] if denominator else [])]
    nodes = _nodes(area.prefix)
    kept = {pk for pk, (_path, depth) in nodes.items() if depth <= limit}
    # node -> its ancestors-or-self that keep day rows, top first (the last one "owns" its records)
    upper = {pk: [ancestor for ancestor in node_ids_of(path)[: limit + 1] if ancestor in kept]
             for pk, (path, _depth) in nodes.items()}
    totals: DayTotals = defaultdict(lambda: [0, 0, 0, 0])
    days = _days_of(cuts)
    # Runs of consecutive days (the cuts of periods running through today or cut earlier leave gaps).
    runs: list[list[dt.date]] = []
    for day in days:
        if runs and runs[-1][-1] + dt.timedelta(days=1) == day:
            runs[-1].append(day)
        else:
            runs.append([day])
    owner = {pk: ancestors[-1] for pk, ancestors in upper.items() if ancestors}
    for run in runs:
        found = own_values_by_day(measures, run[0], run[-1], path_prefix=area.prefix, chunk=DAY_CHUNK)
        for side, values in enumerate(found):
            owned: dict[tuple[int, dt.date], int] = defaultdict(int)
            for (node, day), value in values.items():
                keeper = owner.get(node)
                if keeper is not None:  # else a node deleted since
                    owned[(keeper, day)] += value
            for (keeper, day), value in owned.items():
                totals[(keeper, day)][side + 2] += value
                for ancestor in upper[keeper]:
                    totals[(ancestor, day)][side] += value
    return dict(totals)


DAY_COLUMNS = ("indicator_id", "node_id", "scope_path", "depth", "day", "numerator", "denominator",
               "own_numerator", "own_denominator")


def _write_days(indicator: Indicator, cuts: Sequence[Cut], totals: DayTotals) -> int:
    """Replace the day rows of the cut periods: each node's non-zero days, and a row for every day for
    the area's top node(s) (the marker that the day is stored). An indicator that keeps no day rows
    has them all removed."""
    if not keeps_days(indicator):
        IndicatorDay.objects.filter(indicator=indicator).delete()
        return 0
    if not cuts:
        return 0
    area = area_of(indicator)
    ops = connection.ops
    first, last = cuts[0].start, period_end(indicator.period, cuts[-1].start)
    IndicatorDay.objects.filter(indicator=indicator, day__gte=first, day__lte=last).delete()
    if area.empty:
        return 0
    places = dict(
        Node.objects.filter(pk__in={node for node, _day in totals} | set(area.anchors)).values_list("pk", "path")
    )
    dates = {day: ops.adapt_datefield_value(day) for day in _days_of(cuts)}

    def row(node: int, day: dt.date, value: Sequence[int]) -> tuple[Any, ...]:
        path = places[node]
        return (indicator.pk, node, path, len(node_ids_of(path)) - 1, dates[day], *value)

    present = {key for key, value in totals.items() if any(value) and key[0] in places and key[1] in dates}
    rows = [row(node, day, totals[(node, day)]) for node, day in present]
    rows += [row(anchor, day, (0, 0, 0, 0)) for day in dates for anchor in area.anchors
             if anchor in places and (anchor, day) not in present]
    _insert_values(rows, IndicatorDay, DAY_COLUMNS)
    return len(rows)


def _apply_day_change(indicator: Indicator, path: str, day: dt.date, numerator: Measure | None,
                      denominator: Measure | None) -> None:
    """Records of the node at `path` dated `day` changed: recount what the day row owning them holds
    as its own (the node's own records when the node keeps day rows above the lowest level; else the
    whole subtree of its ancestor at the lowest level), set it, and add the difference to that row and
    every ancestor's. Each row's own part is recounted only for changes inside it, so the order of
    the notifications does not matter. Only a day already stored (its marker row at the area's top
    node exists) is touched; the caller holds the indicator's lock."""
    top = day_top_depth(indicator)
    if top is None or not keeps_days(indicator):
        return
    chain = node_ids_of(path)  # the node's ancestors-or-self, root first: index = depth
    limit = top + day_levels()
    kept = chain[top: limit + 1]
    if not kept or not IndicatorDay.objects.filter(indicator=indicator, node_id=kept[0], day=day).exists():
        return
    owner_depth = top + len(kept) - 1

    def path_at(depth: int) -> str:
        return "/" + "".join(f"{pk}/" for pk in chain[: depth + 1])

    sides = [side for side in (numerator, denominator) if side is not None]
    cut = [Cut(day, day)]
    if owner_depth < limit:  # the node itself keeps day rows above the lowest level: its own records
        found = iter(own_values_many(sides, PeriodKind.DAY, cut, node_id=kept[-1], node_path=path_at(owner_depth)))
    else:  # the lowest level: the owner's whole subtree
        found = iter(own_values_many(sides, PeriodKind.DAY, cut, path_prefix=path_at(owner_depth)))
    rows = IndicatorDay.objects.filter(indicator=indicator, day=day)
    old = rows.filter(node_id=kept[-1]).values_list("own_numerator", "own_denominator").first() or (0, 0)
    new = (
        sum(next(found).values()) if numerator is not None else old[0],
        sum(next(found).values()) if denominator is not None else old[1],
    )
    delta = (new[0] - old[0], new[1] - old[1])
    if delta == (0, 0):
        return
    IndicatorDay.objects.bulk_create(
        [IndicatorDay(indicator=indicator, node_id=pk, scope_path=path_at(depth), depth=depth, day=day)
         for depth, pk in enumerate(kept, start=top)],
        ignore_conflicts=True,
    )
    rows.filter(node_id=kept[-1]).update(own_numerator=new[0], own_denominator=new[1])
    rows.filter(node_id__in=kept).update(
        numerator=F("numerator") + delta[0], denominator=F("denominator") + delta[1]
    )


def _chunks(cuts: list[Cut], size: int) -> list[list[Cut]]:
    return [cuts[index:index + size] for index in range(0, len(cuts), size)]


def indicator_recompute(
    *, indicator: Indicator, first: dt.date | None = None, last: dt.date | None = None,
    progress: Progress | None = None, today: dt.date | None = None,
) -> int:
    """Recompute the stored values of the periods from the one containing `first` (default: a year
    ago) to the one containing `last` (default and at most: today). Returns the rows written."""
    today = today or timezone.localdate()
    last = min(last or today, today)
    first = first or (today - dt.timedelta(days=HISTORY_DAYS))
    cuts = cuts_for(indicator, starts_between(indicator.period, first, last), today)
    chunks = _chunks(cuts, CHUNK[PeriodKind(indicator.period)])
    written = 0
    for done, chunk in enumerate(chunks, start=1):
        written += _recompute_cuts(indicator, chunk)
        if progress is not None:
            progress(done, len(chunks))
    _refresh_statistics(written)
    return written


def _refresh_statistics(written: int) -> None:
    """After a large rewrite, let PostgreSQL's planner see the new rows at once (until autovacuum's
    ANALYZE runs it may scan a whole period's rows where the index gives the children directly)."""
    if written >= ANALYZE_AFTER and connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(IndicatorValue._meta.db_table)}")


def _computable(indicator: Indicator) -> bool:
    """Whether the formula still matches the registered sources (an app removed or changed since):
    the batch jobs skip, and log, an indicator that does not, rather than stop for all."""
    try:
        validate_measure(indicator.numerator, side="numerator")
        if indicator.has_denominator and indicator.denominator is not None:
            validate_measure(indicator.denominator, side="denominator")
    except ApplicationError as exc:
        logger.warning("indicator %s skipped: %s", indicator.code, exc.message)
        return False
    return True


def indicator_recompute_all(
    *, codes: Iterable[str] | None = None, first: dt.date | None = None, progress: Progress | None = None,
    today: dt.date | None = None,
) -> dict[str, int]:
    """Recompute every active indicator (or the given codes); rows written by code. `progress` gets
    (periods chunks done, total) across all of them."""
    queryset = Indicator.objects.all() if codes is not None else Indicator.objects.filter(is_active=True)
    if codes is not None:
        wanted = list(codes)
        queryset = queryset.filter(code__in=wanted)
        missing = sorted(set(wanted) - set(queryset.values_list("code", flat=True)))
        if missing:
            raise ApplicationError(_("未知的指标编码：%(codes)s。") % {"codes": ", ".join(missing)})
    indicators = [item for item in queryset if codes is not None or _computable(item)]
    today = today or timezone.localdate()
    start = first or (today - dt.timedelta(days=HISTORY_DAYS))
    sizes = {
        item.pk: len(_chunks(cuts_for(item, starts_between(item.period, start, today), today),
                             CHUNK[PeriodKind(item.period)]))
        for item in indicators
    }
    total = sum(sizes.values())
    offset = 0
    written: dict[str, int] = {}
    for item in indicators:

        def step(done: int, _count: int, base: int = offset) -> None:
            if progress is not None:
                progress(base + done, total)

        written[item.code] = indicator_recompute(indicator=item, first=start, progress=step, today=today)
        offset += sizes[item.pk]
    return written


def indicators_refresh_current(*, today: dt.date | None = None) -> int:
    """Recount the running period of every active indicator through today (the daily job: records
    dated today, e.g. deadlines falling due, enter the count). Returns the rows written."""
    today = today or timezone.localdate()
    written = 0
    for indicator in filter(_computable, Indicator.objects.filter(is_active=True)):
        cuts = cuts_for(indicator, [period_start(indicator.period, today)], today)
        if cuts:
            written += _recompute_cuts(indicator, cuts)
    return written


# --- incremental update ------------------------------------------------------------------------


def notify_changed(
    *, source: str, node_id: int, day: dt.date | None = None, days: Iterable[dt.date] = ()
) -> None:
    """Records of `source` attributed to node `node_id` and dated `day` (or any of `days`) changed:
    update the roll-ups of every indicator using the source (that node and its ancestors, the affected
    periods and stored days). Call it from `transaction.on_commit(..., robust=True)`, once per node
    with every day that changed there (a record's opened, deadline and closed days in one call: one
    locked round per indicator) — for a record that moved, for its old and its new node."""
    wanted = sorted({*days, *([day] if day is not None else [])})
    if not wanted:
        return
    path = Node.objects.filter(pk=node_id).values_list("path", flat=True).first()
    if path is None:
        return
    for indicator in Indicator.objects.filter(is_active=True):
        numerator, denominator = measures_of(indicator)
        sides = [side for side in (numerator, denominator) if side is not None and side.source == source]
        if sides:
            _apply_change(indicator, node_id, path, wanted, numerator, denominator, source)


def _runs(cuts: list[Cut], kind: str) -> list[list[Cut]]:
    """Cuts split into runs of consecutive periods (one scan each)."""
    runs: list[list[Cut]] = []
    for cut in cuts:
        if runs and next_start(kind, runs[-1][-1].start) == cut.start:
            runs[-1].append(cut)
        else:
            runs.append([cut])
    return runs


def _apply_change(
    indicator: Indicator, node_id: int, path: str, days: list[dt.date], numerator: Measure,
    denominator: Measure | None, source: str,
) -> None:
    area = area_of(indicator)
    today = timezone.localdate()
    chain = node_ids_of(path)
    anchor = next((pk for pk in area.anchors if pk in chain), None)
    days = [day for day in days if day <= today]  # a date no stored period has reached yet: nothing
    if anchor is None or not days:
        return  # outside the indicator's region, or only dates to come
    changed_numerator = numerator if numerator.source == source else None
    changed_denominator = denominator if denominator is not None and denominator.source == source else None
    sides = [side for side in (changed_numerator, changed_denominator) if side is not None]
    # A stock or a snapshot carries a change into every later period; a flow stays in its own.
    lasting = any(side.window == Window.CUMULATIVE or get_source(side.source).is_snapshot for side in sides)
    kind = indicator.period
    starts = {period_start(kind, day) for day in days}
    first = min(starts)
    current = period_start(kind, today)
    last = current if lasting else max(starts)
    with transaction.atomic():
        # One writer per indicator at a time: incremental updates and recomputations queue here.
        Indicator.objects.select_for_update().only("pk").get(pk=indicator.pk)
        Indicator.objects.filter(pk=indicator.pk).update(revision=F("revision") + 1)
        stored = {
            start: as_of for start, as_of in IndicatorValue.objects.filter(
                indicator=indicator, period_kind=kind, node_id=anchor, period_start__gte=first, period_start__lte=last,
            ).values_list("period_start", "as_of")
            if lasting or start in starts
        }
        recounted: set[dt.date] = set()
        if (current in starts or (lasting and first <= current)) and stored.get(current) != today:
            # The running period was counted through an earlier day (or not yet): recount it whole,
            # which takes this change in too.
            cuts = cuts_for(indicator, [current], today)
            if cuts:
                totals, nodes = compute(indicator, cuts)
                _write(indicator, cuts, totals, nodes)
                _write_days(indicator, cuts, compute_days(indicator, cuts))
                recounted.add(current)
            stored.pop(current, None)
        for run in _runs(cuts_for(indicator, sorted(stored), today), kind):
            _apply_deltas(indicator, node_id, path, run, changed_numerator, changed_denominator)
        for day in days:
            if period_start(kind, day) not in recounted:
                _apply_day_change(indicator, path, day, changed_numerator, changed_denominator)


def _apply_deltas(indicator: Indicator, node_id: int, path: str, cuts: list[Cut], numerator: Measure | None,
                  denominator: Measure | None) -> None:
    """Recount the node's own records in the cut periods and add the differences to the node and
    every ancestor (F() updates; the caller holds the indicator's lock)."""
    kind = indicator.period
    sides = [side for side in (numerator, denominator) if side is not None]
    found = iter(own_values_many(sides, kind, cuts, node_id=node_id, node_path=path))
    new_numerators = next(found) if numerator else {}
    new_denominators = next(found) if denominator else {}
    values = IndicatorValue.objects.filter(indicator=indicator, period_kind=kind)
    starts = [cut.start for cut in cuts]
    own = {
        start: (own_numerator, own_denominator)
        for start, own_numerator, own_denominator in values.filter(period_start__in=starts, node_id=node_id)
        .values_list("period_start", "own_numerator", "own_denominator")
    }
    changes = {}
    for start in starts:
        old_numerator, old_denominator = own.get(start, (0, 0))
        new_numerator = new_numerators.get((node_id, start), 0) if numerator else old_numerator
        new_denominator = new_denominators.get((node_id, start), 0) if denominator else old_denominator
        if (new_numerator, new_denominator) != (old_numerator, old_denominator):
            changes[start] = (new_numerator, new_denominator, new_numerator - old_numerator,
                              new_denominator - old_denominator)
    if not changes:
        return
    chain = node_ids_of(path)
    places = {pk: (node_path, depth) for pk, node_path, depth in
              Node.objects.filter(pk__in=chain).values_list("pk", "path", "depth")}
    now = timezone.now()
    by_start = {cut.start: cut for cut in cuts}
    IndicatorValue.objects.bulk_create(
        [_value_row(indicator, pk, places[pk], by_start[start], Totals(), now)
         for start in changes for pk in chain if pk in places],
        ignore_conflicts=True,
    )
    for start, (new_numerator, new_denominator, delta_numerator, delta_denominator) in changes.items():
        values.filter(period_start=start, node_id=node_id).update(
            own_numerator=new_numerator, own_denominator=new_denominator
        )
        values.filter(period_start=start, node_id__in=chain).update(
            numerator=F("numerator") + delta_numerator, denominator=F("denominator") + delta_denominator,
            computed_at=now,
        )
