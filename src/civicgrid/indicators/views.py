"""Indicator pages: the dashboard of a node (cards, trend, children's ranking and map, drill-down),
one indicator at one node, the .xlsx export, and the definitions for administrators. Thin: parse,
call selectors/services, render. Nodes come from a scoped selector: outside the scope is 404."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from civicgrid.accounts.roles import Action
from civicgrid.core.errors import ApplicationError
from civicgrid.core.exports import xlsx_response
from civicgrid.indicators import reports, services
from civicgrid.indicators.forms import IndicatorForm
from civicgrid.indicators.models import Indicator
from civicgrid.indicators.periods import label
from civicgrid.indicators.registry import sources
from civicgrid.indicators.selectors import (
    MIN_DAY,
    RankedChild,
    Reading,
    indicator_as_of,
    indicator_get,
    indicator_list,
    indicator_node_by_code,
    indicator_node_choices,
    indicator_node_context,
    indicator_node_default,
    indicator_node_get,
    node_readings,
    node_trends,
)
from civicgrid.indicators.selectors import (
    dashboard as build_dashboard,
)
from civicgrid.territory.models import Node
from civicgrid.web.permissions import requires

DETAIL_TREND_PERIODS = 24


def _day(value: str | None) -> dt.date | None:
    """An ISO date from the query string, or None when absent or malformed (never a 500)."""
    if not value:
        return None
    try:
        day = dt.date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None
    return day if day >= MIN_DAY else None


def _node(request: HttpRequest) -> Node:
    """The node named by ?node= (id) or ?code=, else the user's top node; 404 outside the scope."""
    code = request.GET.get("code", "").replace("\x00", "").strip()
    if code:
        return indicator_node_by_code(actor=request.user, code=code)
    if request.GET.get("node"):
        return indicator_node_get(actor=request.user, pk=request.GET["node"])
    return indicator_node_default(actor=request.user)


def _query(**params: str | int) -> str:
    """A query string of the non-empty parameters."""
    return urlencode({key: value for key, value in params.items() if value not in ("", None)})


def _reading_json(reading: Reading) -> dict[str, Any]:
    return {
        "value": reading.rounded, "display": reading.display, "numerator": reading.numerator,
        "denominator": reading.denominator, "attainment": reading.attainment,
        "period": reading.period_label, "as_of": reading.as_of.isoformat() if reading.as_of else None,
    }


def _chart_data(indicator: Indicator | None, trend: list[Reading], ranking: list[RankedChild], node: Node,
                on: dt.date | None, link: str) -> dict[str, Any]:
    """What the page's charts draw (json_script): the trend, the ranking and the children's map."""
    if indicator is None:
        return {}
    link_to = _linker(link, indicator, on)
    features = []
    if node.geometry:
        features.append({"type": "Feature", "geometry": node.geometry,
                         "properties": {"code": node.code, "name": node.name, "context": True}})
    for row in ranking:
        if row.node.geometry:
            features.append({
                "type": "Feature", "geometry": row.node.geometry,
                "properties": {"code": row.node.code, "name": row.node.name, "url": link_to(row.node.pk),
                               **_reading_json(row.reading)},
            })
    return {
        "indicator": {
            "code": indicator.code, "name": indicator.name, "suffix": indicator.unit_suffix,
            "target": float(indicator.target) if indicator.target is not None else None,
            "direction": indicator.direction,
        },
        "trend": [{"label": label(indicator.period, item.period_start), **_reading_json(item)} for item in trend],
        "ranking": [
            {"code": row.node.code, "name": row.node.name, "rank": row.rank, "responsible": row.responsible,
             "url": link_to(row.node.pk), **_reading_json(row.reading)}
            for row in ranking
        ],
        "map": {"type": "FeatureCollection", "features": features},
    }


def _linker(kind: str, indicator: Indicator, on: dt.date | None) -> Callable[[int], str]:
    """Drill-down targets: the same page for a child node (the URL reversed once per page, not once
    per child link)."""
    day = on.isoformat() if on else ""
    if kind == "detail":
        base = reverse("indicators:detail", args=[indicator.code])
        return lambda node_pk: f"{base}?{_query(node=node_pk, on=day)}"
    base = reverse("indicators:dashboard")
    return lambda node_pk: f"{base}?{_query(node=node_pk, indicator=indicator.code, on=day)}"


def _choices(user: Any, node: Node, ancestors: list[Node], children: list[Node]) -> list[Node]:
    """The node picker's options, indented by depth: the top of the scope and what is around the node."""
    choices = indicator_node_choices(actor=user, around=[*ancestors, node, *children])
    top = min(choice.depth for choice in choices)
    for choice in choices:
        choice.indent = "　" * (choice.depth - top)  # type: ignore[attr-defined]
    return choices


@requires(Action.VIEW_INDICATORS)
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    """A node's indicators: cards (value against target), the selected one's trend, its children's
    ranking and map; clicking a child opens its dashboard. Reads stored values only."""
    node = _node(request)
    on = _day(request.GET.get("on"))
    data = build_dashboard(actor=request.user, node=node, on=on, selected_code=request.GET.get("indicator", "")[:64])
    user: Any = request.user
    explicit_on = on.isoformat() if on else ""
    return render(request, "indicators/dashboard.html", {
        "d": data,
        "node": node,
        "cards": list(zip(data.indicators, data.readings, strict=True)),
        "chart_data": _chart_data(data.selected, data.trend, data.ranking, node, on, "dashboard"),
        "choices": _choices(user, node, data.ancestors, data.children),
        "on_value": explicit_on,
        "today": timezone.localdate(),
        "export_query": _query(node=node.pk, on=explicit_on),
        "can_export": user.can(Action.EXPORT),
        "can_manage": user.can(Action.MANAGE_INDICATORS),
    })


@requires(Action.VIEW_INDICATORS)
@require_GET
def detail(request: HttpRequest, code: str) -> HttpResponse:
    """One indicator at one node: value as of a day (exact, counted from the registries when no stored
    row is counted through that day), the children's ranking, and the trend as a chart and a table."""
    indicator = indicator_get(actor=request.user, code=code)
    node = _node(request)
    on = _day(request.GET.get("on"))
    ancestors, children = indicator_node_context(actor=request.user, node=node)
    as_of = indicator_as_of(actor=request.user, indicator=indicator, node=node, children=children, day=on)
    trend = node_trends(actor=request.user, node=node, indicators=[indicator], on=on,
                        periods=DETAIL_TREND_PERIODS)[indicator.pk]
    while len(trend) > 1 and not trend[0].stored:  # periods before the stored history began
        trend.pop(0)
    user: Any = request.user
    explicit_on = on.isoformat() if on else ""
    return render(request, "indicators/detail.html", {
        "indicator": indicator,
        "node": node,
        "ancestors": ancestors,
        "a": as_of,
        "trend_rows": list(reversed(trend)),
        "chart_data": _chart_data(indicator, trend, as_of.children, node, on, "detail"),
        "on_value": explicit_on,
        "today": timezone.localdate(),
        "export_query": _query(node=node.pk, indicator=indicator.code, on=explicit_on),
        "can_export": user.can(Action.EXPORT),
    })


@requires(Action.EXPORT)
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    """The dashboard (or one indicator) of a node as .xlsx: values, children's ranking, trend (audited)."""
    node = _node(request)
    if request.GET.get("indicator"):
        indicators = [indicator_get(actor=request.user, code=request.GET["indicator"])]
    else:
        indicators = indicator_list(actor=request.user, node=node)
    on = _day(request.GET.get("on")) or timezone.localdate()
    content = reports.indicator_export(actor=request.user, node=node, indicators=indicators, on=on)
    name = _("指标_%(node)s_%(day)s.xlsx") % {"node": node.code, "day": f"{on:%Y%m%d}"}
    return xlsx_response(name, content)


@requires(Action.MANAGE_INDICATORS)
@require_GET
def definitions(request: HttpRequest) -> HttpResponse:
    """Every indicator definition, with its current value at the administrator's top node."""
    indicators = indicator_list(actor=request.user, include_inactive=True)
    node = indicator_node_default(actor=request.user)
    readings = {reading.indicator.pk: reading for reading in
                node_readings(actor=request.user, node=node, indicators=indicators)}
    return render(request, "indicators/definitions.html", {
        "rows": [(item, readings.get(item.pk)) for item in indicators],
        "node": node,
        "sources": sorted(sources().values(), key=lambda source: source.code),
    })


def _definition_page(request: HttpRequest, form: IndicatorForm, indicator: Indicator | None, status: int = 200) -> HttpResponse:
    return render(request, "indicators/definition_form.html", {
        "form": form, "indicator": indicator,
        "sources": sorted(sources().values(), key=lambda source: source.code),
    }, status=status)


@requires(Action.MANAGE_INDICATORS)
@require_http_methods(["GET", "POST"])
def definition_create(request: HttpRequest) -> HttpResponse:
    """Define a new indicator over the registered sources."""
    if request.method != "POST":
        return _definition_page(request, IndicatorForm(actor=request.user), None)
    form = IndicatorForm(request.POST, actor=request.user)
    if form.is_valid():
        try:
            created = services.indicator_create(actor=request.user, **form.cleaned_data)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已新增指标“%(name)s”，指标值将在后台计算。") % {"name": created.name})
            return redirect("indicators:definitions")
    return _definition_page(request, form, None, status=400)


@requires(Action.MANAGE_INDICATORS)
@require_http_methods(["GET", "POST"])
def definition_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Change a definition; a built-in's formula is fixed, its name, target and scope are not."""
    indicator = indicator_get(actor=request.user, code=code)
    if request.method != "POST":
        return _definition_page(request, IndicatorForm(instance=indicator, actor=request.user), indicator)
    form = IndicatorForm(request.POST, instance=indicator, actor=request.user)
    if form.is_valid():
        changes = dict(form.cleaned_data)
        changes.pop("code", None)
        try:
            services.indicator_update(actor=request.user, indicator=indicator, **changes)
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, _("已保存指标“%(name)s”。") % {"name": changes.get("name") or indicator.name})
            return redirect("indicators:definitions")
    return _definition_page(request, form, indicator, status=400)
