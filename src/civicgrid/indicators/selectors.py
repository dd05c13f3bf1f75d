"""Reads on indicators, each taking the actor and scoped: definitions, readings of a node (stored
rows, or computed as of a past day), ranking of child nodes, trends, and the dashboard.

Pages read only IndicatorValue rows (one indexed query each for the node's values, its children and
its trend); only an explicit "as of" day inside a period that is not stored through that day is
computed from the registries, for the one node's subtree."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet, Subquery, Sum
from django.http import Http404
from django.utils import timezone

from civicgrid.accounts.roles import Action
from civicgrid.indicators.engine import node_ids_of
from civicgrid.indicators.models import UNIT_SCALE, Indicator, IndicatorDay, IndicatorValue
from civicgrid.indicators.periods import Cut, label, last_starts, period_end, period_start
from civicgrid.indicators.policies import day_policy, value_policy
from civicgrid.indicators.registry import Direction, Unit
from civicgrid.territory.models import Node
from civicgrid.territory.scoping import scope_paths, scope_q

TREND_PERIODS = 12
# Days before this are refused (API) or ignored (pages): no period of interest lies there, and
# walking periods back from year 1 would overflow the calendar.
MIN_DAY = dt.date(1990, 1, 1)
# Within this share of the target (relative) a value that misses it is "near" (amber), not "off" (red).
NEAR_SHARE = Decimal("0.05")
PICKER_LIMIT = 300


def _can_view(actor: Any) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False) and actor.can(Action.VIEW_INDICATORS)


# --- nodes, as the indicator pages see them ----------------------------------------------------


def _nodes(actor: Any) -> QuerySet[Node]:
    """Active nodes inside the actor's scope, for readers of indicators (territory rights not needed)."""
    condition = scope_q(actor, "path") if _can_view(actor) else None
    if condition is None:
        return Node.objects.none()
    return Node.objects.filter(condition, is_active=True)


def indicator_node_get(*, actor: Any, pk: Any) -> Node:
    """A node in the actor's scope, else 404 (missing and not yours are the same answer)."""
    try:
        return _nodes(actor).get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


def indicator_node_default(*, actor: Any) -> Node:
    """The actor's top node: the first granted subtree (404 without any)."""
    paths = scope_paths(actor)
    node = _nodes(actor).filter(path__in=paths).order_by("depth", "path").first() if paths else None
    if node is None:
        raise Http404
    return node


def indicator_node_by_code(*, actor: Any, code: str) -> Node:
    """A node in scope by its code, else 404."""
    node = _nodes(actor).filter(code=code.strip()[:32]).first()
    if node is None:
        raise Http404
    return node


def indicator_node_context(*, actor: Any, node: Node) -> tuple[list[Node], list[Node]]:
    """The node's ancestors in scope (breadcrumb, root first) and its active children, one query."""
    ancestor_ids = [int(part) for part in node.path.strip("/").split("/")[:-1] if part]
    rows = list(
        _nodes(actor).filter(Q(pk__in=ancestor_ids) | Q(parent_id=node.pk))
        .only("pk", "parent_id", "code", "name", "kind", "path", "depth", "geometry").order_by("depth", "code")
    )
    ancestors = [row for row in rows if row.pk in ancestor_ids]
    children = [row for row in rows if row.parent_id == node.pk]
    return ancestors, children


def indicator_node_choices(*, actor: Any, around: Sequence[Node] = ()) -> list[Node]:
    """Nodes for the picker: the actor's top nodes and their children (one query), plus the given
    nodes (the shown node, its breadcrumb and its children), in tree order — a short list however
    big the county is (deeper nodes are reached by drilling down or by code)."""
    tops = scope_paths(actor)
    if not tops:
        return []
    # Ordered by depth first, not by path: the rows come from the path and parent indexes (a bitmap
    # OR on PostgreSQL, a top-N sort of a few dozen rows) rather than from a walk of the whole tree
    # in path order; the top nodes come first if the limit cuts. Tree order is restored below.
    found = {
        node.pk: node for node in _nodes(actor).filter(
            Q(path__in=tops) | Q(parent_id__in=Subquery(Node.objects.filter(path__in=tops).values("pk")))
        )
        .only("pk", "code", "name", "depth", "path").order_by("depth", "path")[:PICKER_LIMIT]
    }
    for node in around:
        found.setdefault(node.pk, node)
    return sorted(found.values(), key=lambda node: [int(part) for part in node.path.strip("/").split("/") if part])


# --- definitions -------------------------------------------------------------------------------


def indicator_list(*, actor: Any, node: Node | None = None, include_inactive: bool = False) -> list[Indicator]:
    """Indicator definitions the actor may read; with a node, only those applying there (no region,
    or the node inside the region)."""
    if not _can_view(actor):
        return []
    queryset = Indicator.objects.all() if include_inactive else Indicator.objects.filter(is_active=True)
    indicators = list(queryset)
    if node is None:
        return indicators
    return [
        item for item in indicators
        if not item.region_code or (item.region_path and node.path.startswith(item.region_path))
    ]


def indicator_get(*, actor: Any, code: str) -> Indicator:
    """One definition by code, else 404."""
    if not _can_view(actor):
        raise Http404
    indicator = Indicator.objects.filter(code=str(code)[:64]).first()
    if indicator is None:
        raise Http404
    return indicator


# --- readings ----------------------------------------------------------------------------------


@dataclass
class Reading:
    """An indicator at a node for a period, counted through `as_of`."""

    indicator: Indicator
    node_id: int
    period_start: dt.date
    as_of: dt.date | None
    numerator: int = 0
    denominator: int = 0
    stored: bool = True

    @property
    def value(self) -> Decimal | None:
        """In the indicator's unit (percent ×100…), or None without a denominator."""
        if not self.indicator.has_denominator:
            return Decimal(self.numerator) if self.as_of is not None else None
        if not self.denominator:
            return None
        return Decimal(self.numerator) * UNIT_SCALE[Unit(self.indicator.unit)] / Decimal(self.denominator)

    @property
    def display(self) -> str:
        """The value rounded for people: two decimals for rates, none for counts."""
        value = self.value
        if value is None:
            return "—"
        if self.indicator.unit == Unit.COUNT:
            return f"{value:.0f}"
        places = Decimal("0.0001") if self.indicator.unit == Unit.RATIO else Decimal("0.01")
        return f"{value.quantize(places, rounding=ROUND_HALF_UP)}{self.indicator.unit_suffix}"

    @property
    def rounded(self) -> float | None:
        value = self.value
        return None if value is None else float(value.quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP))

    @property
    def attainment(self) -> str:
        """met / near / off against the target (direction-aware), or none."""
        return attainment(self.indicator, self.value)

    @property
    def gap(self) -> Decimal | None:
        """Value minus target, in the unit (points for percentages)."""
        value, target = self.value, self.indicator.target
        if value is None or target is None:
            return None
        return (value - target).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)

    @property
    def period_label(self) -> str:
        return label(self.indicator.period, self.period_start)


def attainment(indicator: Indicator, value: Decimal | None) -> str:
    """met / near / off / none: the value against the indicator's target, by its direction."""
    target = indicator.target
    if value is None or target is None:
        return "none"
    tolerance = abs(target) * NEAR_SHARE
    if indicator.direction == Direction.LOWER:
        if value <= target:
            return "met"
        return "near" if tolerance and value <= target + tolerance else "off"
    if value >= target:
        return "met"
    return "near" if tolerance and value >= target - tolerance else "off"


def _reading(indicator: Indicator, row: IndicatorValue | None, node_id: int, start: dt.date) -> Reading:
    if row is None:
        return Reading(indicator, node_id, start, None, stored=False)
    return Reading(indicator, node_id, start, row.as_of, row.numerator, row.denominator)


def _values(actor: Any) -> QuerySet[IndicatorValue]:
    """Value rows in the actor's scope, unordered (callers key them by node and period)."""
    return value_policy.viewable(actor).only(
        "indicator_id", "node_id", "period_start", "as_of", "numerator", "denominator", "depth", "scope_path"
    ).order_by()


def _on(day: dt.date | None) -> dt.date:
    today = timezone.localdate()
    if day is None or day > today:
        return today
    return max(day, MIN_DAY)


def node_readings(*, actor: Any, node: Node, indicators: Sequence[Indicator], on: dt.date | None = None) -> list[Reading]:
    """Each indicator at the node for the period containing `on` (default today), as stored. One query."""
    day = _on(on)
    starts = {item.pk: period_start(item.period, day) for item in indicators}
    rows = _values(actor).filter(node=node, indicator__in=list(indicators), period_start__in=set(starts.values()))
    found = {(row.indicator_id, row.period_start): row for row in rows}
    return [_reading(item, found.get((item.pk, starts[item.pk])), node.pk, starts[item.pk]) for item in indicators]


def node_trends(
    *, actor: Any, node: Node, indicators: Sequence[Indicator], on: dt.date | None = None, periods: int = TREND_PERIODS
) -> dict[int, list[Reading]]:
    """For each indicator, the `periods` periods ending with the one containing `on`, oldest first. One query."""
    day = _on(on)
    wanted = {item.pk: last_starts(item.period, day, periods) for item in indicators}
    earliest = min((starts[0] for starts in wanted.values()), default=day)
    rows = _values(actor).filter(node=node, indicator__in=list(indicators), period_start__gte=earliest,
                                 period_start__lte=day)
    found = {(row.indicator_id, row.period_start): row for row in rows}
    return {
        item.pk: [_reading(item, found.get((item.pk, start)), node.pk, start) for start in wanted[item.pk]]
        for item in indicators
    }


@dataclass
class RankedChild:
    """A child node's reading, with its rank among its siblings (1 = best; ties share a rank)."""

    node: Node
    reading: Reading
    rank: int | None = None
    responsible: str = ""


def rank(readings: Iterable[tuple[Node, Reading]], direction: str) -> list[RankedChild]:
    """Order by value, best first (highest when higher is better, lowest when lower is), nodes
    without a value last; equal values share a rank (1, 2, 2, 4)."""
    rows = [RankedChild(node, reading) for node, reading in readings]
    valued = [row for row in rows if row.reading.value is not None]
    empty = [row for row in rows if row.reading.value is None]
    # Best first; among equal values the one with more evidence (the larger denominator) first.
    if direction == Direction.LOWER:
        valued.sort(key=lambda row: (row.reading.value, -row.reading.denominator, row.node.code))
    else:
        valued.sort(key=lambda row: (-(row.reading.value or 0), -row.reading.denominator, row.node.code))
    previous: Decimal | None = None
    for position, row in enumerate(valued, start=1):
        if previous is not None and row.reading.value == previous:
            row.rank = valued[position - 2].rank
        else:
            row.rank = position
        previous = row.reading.value
    empty.sort(key=lambda row: row.node.code)
    return valued + empty


def child_ranking(
    *, actor: Any, indicator: Indicator, node: Node, children: Sequence[Node], on: dt.date | None = None,
    responsible: bool = True,
) -> list[RankedChild]:
    """The node's children ranked by the indicator in the period containing `on`: one query on the
    values (children of a node = its subtree one level down, join-free), one for who answered for
    each child on the period's cut day (problem #1: attributed to whoever was responsible then)."""
    day = _on(on)
    start = period_start(indicator.period, day)
    rows = _values(actor).filter(
        indicator=indicator, period_kind=indicator.period, period_start=start, depth=node.depth + 1,
        scope_path__startswith=node.path,
    )
    found = {row.node_id: row for row in rows}
    ranked = rank(((child, _reading(indicator, found.get(child.pk), child.pk, start)) for child in children),
                  indicator.direction)
    if responsible and ranked:
        cut = min(period_end(indicator.period, start), day)
        names = responsible_on(actor=actor, nodes=[row.node for row in ranked], day=cut)
        for row in ranked:
            row.responsible = names.get(row.node.pk, "")
    return ranked


def responsible_on(*, actor: Any, nodes: Sequence[Node], day: dt.date) -> dict[int, str]:
    """Names of each node's primary holders in force on the day (through territory's scoped selector;
    empty for a role that may not read assignments)."""
    from civicgrid.territory.selectors import assignment_list

    if not actor.can(Action.VIEW_TERRITORY):
        return {}
    holders: dict[int, list[str]] = {}
    queryset = assignment_list(actor=actor, on=day).filter(node__in=[node.pk for node in nodes], is_primary=True)
    for node_id, name in queryset.order_by("node_id", "role").values_list("node_id", "person__name"):
        holders.setdefault(node_id, []).append(name)
    return {node_id: "、".join(names) for node_id, names in holders.items()}


# --- as of a day -------------------------------------------------------------------------------


@dataclass
class AsOf:
    """Readings of an indicator as of a day: the node and its children."""

    indicator: Indicator
    day: dt.date
    reading: Reading
    children: list[RankedChild] = field(default_factory=list)
    computed: bool = False  # True when counted from the registries (no stored row through that day)
    from_days: bool = False  # True when summed from the stored day rows (IndicatorDay)


def _day_sums(
    *, actor: Any, indicator: Indicator, node: Node, children: Sequence[Node], start: dt.date, day: dt.date
) -> dict[int, tuple[int, int]] | None:
    """The node's and its children's (numerator, denominator) for the period from `start` counted
    through `day`, summed from the day rows — or None when they cannot answer: the indicator keeps no
    day rows, the node or its children lie below the day levels or outside the indicator's region,
    or a day of the range is not stored (no marker row at the area's top node)."""
    from civicgrid.indicators.services import day_levels, day_top_depth, keeps_days

    top = day_top_depth(indicator)
    if top is None or not keeps_days(indicator):
        return None
    if node.depth + (1 if children else 0) > top + day_levels() or node.depth < top:
        return None
    if indicator.region_path and not node.path.startswith(indicator.region_path):
        return None
    anchor = node_ids_of(node.path)[top]
    # Whether every day of the range is stored: a fact about the table, not about anyone's data.
    stored_days = IndicatorDay.objects.filter(indicator=indicator, node_id=anchor, day__gte=start, day__lte=day).count()
    if stored_days != (day - start).days + 1:
        return None
    rows = (
        day_policy.viewable(actor)
        .filter(indicator=indicator, node_id__in=[node.pk, *(child.pk for child in children)],
                day__gte=start, day__lte=day)
        .values("node_id").annotate(total_numerator=Sum("numerator"), total_denominator=Sum("denominator"))
        .order_by()
    )
    return {row["node_id"]: (int(row["total_numerator"]), int(row["total_denominator"])) for row in rows}


def indicator_as_of(
    *, actor: Any, indicator: Indicator, node: Node, children: Sequence[Node], day: dt.date | None
) -> AsOf:
    """The indicator at the node and its children for the period containing `day`, counted only from
    what was known by `day` (records dated on or before it; snapshots of that day). Served from the
    stored rows when they are counted through exactly that day (a period's last day, or today's
    refresh); otherwise counted from the registries for the node's subtree. Without a day: the
    running period as stored, whatever day it was last counted through (never the registries)."""
    from civicgrid.indicators.services import compute

    if not _can_view(actor):
        raise Http404
    latest = day is None
    day = _on(day)
    start = period_start(indicator.period, day)
    stored = _values(actor).filter(
        indicator=indicator, period_kind=indicator.period, period_start=start, node=node
    ).first()
    if latest or (stored is not None and stored.as_of == day):
        reading = _reading(indicator, stored, node.pk, start)
        return AsOf(
            indicator, reading.as_of or day, reading,
            child_ranking(actor=actor, indicator=indicator, node=node, children=children, on=day),
        )
    summed = _day_sums(actor=actor, indicator=indicator, node=node, children=children, start=start, day=day)
    from_days = summed is not None
    if summed is None:
        totals, _nodes_found = compute(indicator, [Cut(start, day)], prefix=node.path)
        summed = {node_id: (found.numerator, found.denominator) for (node_id, _start), found in totals.items()}

    def reading_of(pk: int) -> Reading:
        numerator, denominator = summed.get(pk, (0, 0))
        return Reading(indicator, pk, start, day, numerator, denominator, stored=False)

    ranked = rank(((child, reading_of(child.pk)) for child in children), indicator.direction)
    names = responsible_on(actor=actor, nodes=list(children), day=day) if children else {}
    for row in ranked:
        row.responsible = names.get(row.node.pk, "")
    return AsOf(indicator, day, reading_of(node.pk), ranked, computed=not from_days, from_days=from_days)


# --- the dashboard -----------------------------------------------------------------------------


@dataclass
class Dashboard:
    """Everything the dashboard page shows for a node."""

    node: Node
    ancestors: list[Node]
    children: list[Node]
    on: dt.date
    indicators: list[Indicator]
    readings: list[Reading]
    selected: Indicator | None
    trend: list[Reading]
    ranking: list[RankedChild]


def dashboard(*, actor: Any, node: Node, on: dt.date | None = None, selected_code: str = "") -> Dashboard:
    """The node's indicator cards, and for the selected indicator (default: the first) its trend, the
    children's ranking and map values. Reads only IndicatorValue rows (plus the node's family)."""
    day = _on(on)
    ancestors, children = indicator_node_context(actor=actor, node=node)
    indicators = indicator_list(actor=actor, node=node)
    trends = node_trends(actor=actor, node=node, indicators=indicators, on=day)
    readings = [trends[item.pk][-1] for item in indicators]
    with_data = [item for item, reading in zip(indicators, readings, strict=True) if reading.value is not None]
    fallback = (with_data or indicators)[0] if indicators else None
    selected = next((item for item in indicators if item.code == selected_code), fallback)
    ranking = child_ranking(actor=actor, indicator=selected, node=node, children=children, on=day) if selected else []
    return Dashboard(
        node=node, ancestors=ancestors, children=children, on=day, indicators=indicators, readings=readings,
        selected=selected, trend=trends[selected.pk] if selected else [], ranking=ranking,
    )
