"""Indicator API: definitions, a node's values (optionally as of a past day), the children's ranking
and the trend. Every handler declares its action and reads through selectors that take the
signed-in user: a node outside the scope is 404, a role without VIEW_INDICATORS is 403."""

# No `from __future__ import annotations` here: django-ninja resolves handler annotations at import.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import Query, Router, Schema

from civicgrid.accounts.roles import Action
from civicgrid.config.api_support import api_requires
from civicgrid.core.errors import ApplicationError
from civicgrid.indicators.models import Indicator
from civicgrid.indicators.periods import period_start
from civicgrid.indicators.selectors import (
    MIN_DAY,
    Reading,
    child_ranking,
    indicator_as_of,
    indicator_get,
    indicator_list,
    indicator_node_context,
    indicator_node_default,
    indicator_node_get,
    node_readings,
    node_trends,
)
from civicgrid.territory.models import Node

router = Router(tags=["indicators"])


class NodeRef(Schema):
    id: int
    code: str
    name: str


class IndicatorOut(Schema):
    code: str
    name: str
    description: str
    unit: str
    unit_suffix: str
    numerator: dict[str, Any]
    denominator: dict[str, Any] | None
    target: float | None
    direction: str
    period: str
    region_code: str
    valid_from: dt.date | None
    valid_to: dt.date | None
    is_builtin: bool
    is_active: bool


class ReadingOut(Schema):
    indicator: str
    name: str
    period: str
    period_start: dt.date
    period_label: str
    as_of: dt.date | None
    numerator: int
    denominator: int
    value: float | None
    display: str
    target: float | None
    attainment: str
    stored: bool


class ValuesOut(Schema):
    node: NodeRef
    as_of: dt.date | None
    items: list[ReadingOut]


class RankedOut(Schema):
    rank: int | None
    node: NodeRef
    responsible: str
    reading: ReadingOut


class RankingOut(Schema):
    indicator: str
    node: NodeRef
    period_start: dt.date
    items: list[RankedOut]


class TrendOut(Schema):
    indicator: str
    node: NodeRef
    items: list[ReadingOut]


def _node_ref(node: Node) -> dict[str, Any]:
    return {"id": node.pk, "code": node.code, "name": node.name}


def _indicator_out(indicator: Indicator) -> dict[str, Any]:
    return {
        "code": indicator.code, "name": indicator.name, "description": indicator.description, "unit": indicator.unit,
        "unit_suffix": indicator.unit_suffix, "numerator": indicator.numerator, "denominator": indicator.denominator,
        "target": float(indicator.target) if indicator.target is not None else None,
        "direction": indicator.direction, "period": indicator.period, "region_code": indicator.region_code,
        "valid_from": indicator.valid_from, "valid_to": indicator.valid_to, "is_builtin": indicator.is_builtin,
        "is_active": indicator.is_active,
    }


def _reading_out(reading: Reading) -> dict[str, Any]:
    indicator = reading.indicator
    return {
        "indicator": indicator.code, "name": indicator.name, "period": indicator.period,
        "period_start": reading.period_start, "period_label": reading.period_label, "as_of": reading.as_of,
        "numerator": reading.numerator, "denominator": reading.denominator, "value": reading.rounded,
        "display": reading.display, "target": float(indicator.target) if indicator.target is not None else None,
        "attainment": reading.attainment, "stored": reading.stored,
    }


def _node(request: HttpRequest, node: int | None) -> Node:
    if node is None:
        return indicator_node_default(actor=request.user)
    return indicator_node_get(actor=request.user, pk=node)


def _day(day: dt.date | None) -> dt.date | None:
    if day is not None and day < MIN_DAY:
        raise ApplicationError(_("日期不能早于 %(day)s。") % {"day": MIN_DAY.isoformat()})
    return day


@router.get("/definitions", response=list[IndicatorOut], summary=gettext_noop("指标定义"))
@api_requires(Action.VIEW_INDICATORS)
def list_indicator_definitions(request: HttpRequest, include_inactive: bool = False) -> Any:
    """Indicator definitions (formulas, targets, directions, periods)."""
    return [_indicator_out(item) for item in indicator_list(actor=request.user, include_inactive=include_inactive)]


@router.get("/values", response=ValuesOut, summary=gettext_noop("节点指标值"))
@api_requires(Action.VIEW_INDICATORS)
def get_indicator_values(
    request: HttpRequest, node: int | None = None, as_of: dt.date | None = None,
    indicator: str | None = Query(None, max_length=64, pattern=r"^[-\w]*$"),
) -> Any:
    """Each indicator at a node (default: the top of the scope) for the period containing `as_of`
    (default today). Without `as_of`: the stored value. With it: counted only from what was known
    by that day (stored rows when counted through exactly that day, else from the registries)."""
    shown = _node(request, node)
    day = _day(as_of)
    if indicator:
        indicators = [indicator_get(actor=request.user, code=indicator)]
    else:
        indicators = indicator_list(actor=request.user, node=shown)
    if day is None:
        readings = node_readings(actor=request.user, node=shown, indicators=indicators)
    else:
        readings = [
            indicator_as_of(actor=request.user, indicator=item, node=shown, children=[], day=day).reading
            for item in indicators
        ]
    return {"node": _node_ref(shown), "as_of": day, "items": [_reading_out(reading) for reading in readings]}


@router.get("/{code}/ranking", response=RankingOut, summary=gettext_noop("下级节点排名"))
@api_requires(Action.VIEW_INDICATORS)
def get_indicator_ranking(request: HttpRequest, code: str, node: int | None = None, as_of: dt.date | None = None) -> Any:
    """The node's children ranked by the indicator (best first, by its direction; ties share a rank),
    with numerator, denominator and who was responsible for each child on the period's cut day."""
    indicator = indicator_get(actor=request.user, code=code)
    shown = _node(request, node)
    day = _day(as_of)
    _ancestors, children = indicator_node_context(actor=request.user, node=shown)
    if day is None:
        ranked = child_ranking(actor=request.user, indicator=indicator, node=shown, children=children)
    else:
        ranked = indicator_as_of(actor=request.user, indicator=indicator, node=shown, children=children, day=day).children
    start = ranked[0].reading.period_start if ranked else None
    return {
        "indicator": indicator.code, "node": _node_ref(shown),
        "period_start": start or period_start(indicator.period, day or timezone.localdate()),
        "items": [
            {"rank": row.rank, "node": _node_ref(row.node), "responsible": row.responsible,
             "reading": _reading_out(row.reading)}
            for row in ranked
        ],
    }


@router.get("/{code}/trend", response=TrendOut, summary=gettext_noop("指标趋势"))
@api_requires(Action.VIEW_INDICATORS)
def get_indicator_trend(
    request: HttpRequest, code: str, node: int | None = None, on: dt.date | None = None,
    periods: int = Query(12, ge=1, le=60),
) -> Any:
    """The last `periods` stored periods of the indicator at the node, ending with the one containing
    `on` (default today), oldest first."""
    indicator = indicator_get(actor=request.user, code=code)
    shown = _node(request, node)
    trend = node_trends(actor=request.user, node=shown, indicators=[indicator], on=_day(on), periods=periods)
    return {"indicator": indicator.code, "node": _node_ref(shown),
            "items": [_reading_out(reading) for reading in trend[indicator.pk]]}
