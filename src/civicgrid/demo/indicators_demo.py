"""The demo's indicator history: the built-in indicators synced, a year of responsibility changes
that move coverage month by month, and a year of stored values for every indicator (coverage from
territory; the case indicators from the cases demo when it ran first).

The demo's appointments mostly date from 2019–2020; in the last year the deliberate gaps were each
filled for a while by an acting holder (代理) who has since stood down, so the current gaps are the
demo's five and the dashboard's trend shows coverage rising and falling. Dates count back from the
build day, so every build shows the year before it; the same day gives the same data."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from django.utils import timezone

from civicgrid.indicators.services import indicator_recompute_all, indicators_sync_builtins
from civicgrid.territory.models import Assignment, Node, ResponsibilityRole
from civicgrid.territory.services import assignment_end, assignment_start

HISTORY_DAYS = 365


@dataclass(frozen=True)
class ActingTerm:
    """An acting holder at a demo gap: who (the current primary holder of `stand_in` in `stand_in_role`,
    or a non-primary holder of the node itself), from/to as days before the build day."""

    node: str
    role: str
    stand_in: str
    stand_in_role: str
    days_ago_from: int
    days_ago_to: int
    note: str


ACTING_TERMS = (
    ActingTerm("长江路", ResponsibilityRole.LINE_LEADER, "黄河路", ResponsibilityRole.LINE_LEADER, 330, 180,
               "二中队中队长代管长江路（代理）"),
    ActingTerm("黄河路·珠江路口", ResponsibilityRole.POST_OFFICER, "黄河路·珠江路口", ResponsibilityRole.POST_OFFICER,
               250, 70, "辅警临时顶岗（代理）"),
    ActingTerm("黄河社区", ResponsibilityRole.VILLAGE_CADRE, "蒋官屯街道", ResponsibilityRole.TOWN_LEADER, 200, 120,
               "街道领导兼管黄河社区（代理）"),
    ActingTerm("徐庄第三网格", ResponsibilityRole.GRID_WORKER, "徐庄第二网格", ResponsibilityRole.GRID_WORKER, 300, 30,
               "相邻网格员兼管（代理）"),
)


def _stand_in(root: Node, term: ActingTerm, on: dt.date) -> Assignment | None:
    """Who acts: the primary holder of the neighbouring post, or the non-primary holder of the node itself."""
    queryset = Assignment.objects.filter(
        node__path__startswith=root.path, node__name=term.stand_in, role=term.stand_in_role, valid_from__lte=on
    ).select_related("person")
    if term.stand_in == term.node:
        queryset = queryset.filter(is_primary=False)
    else:
        queryset = queryset.filter(is_primary=True, valid_to__isnull=True)
    return queryset.order_by("valid_from", "pk").first()


def add_acting_terms(*, root: Node, today: dt.date) -> int:
    """The acting holders of the last year (all ended before today); returns how many were added."""
    added = 0
    for term in ACTING_TERMS:
        node = Node.objects.filter(path__startswith=root.path, name=term.node).first()
        start = today - dt.timedelta(days=term.days_ago_from)
        holder = _stand_in(root, term, start)
        if node is None or holder is None:
            continue
        acting = assignment_start(
            actor=None, person=holder.person, node=node, role=term.role, valid_from=start, note=term.note,
        )
        assignment_end(actor=None, assignment=acting, valid_to=today - dt.timedelta(days=term.days_ago_to))
        added += 1
    return added


def build_indicator_history(
    *, root_code: str, today: dt.date | None = None, progress: Callable[[int, int], object] | None = None
) -> dict[str, int]:
    """Sync the built-ins, add the year's acting terms under the demo root, and store a year of
    values of every active indicator. Returns rows written by indicator code."""
    today = today or timezone.localdate()
    root = Node.objects.get(code=root_code)
    indicators_sync_builtins(enqueue=False)
    add_acting_terms(root=root, today=today)
    return indicator_recompute_all(first=today - dt.timedelta(days=HISTORY_DAYS), progress=progress, today=today)
