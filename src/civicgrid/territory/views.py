"""Territory pages: the tree and its map, a node, the coverage report (page and .xlsx), responsibility
assignments and the point-in-area lookup. Thin: parse, call selectors/services, render. Every object
comes from a selector that takes `request.user`, so out-of-scope and missing are the same 404."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from civicgrid.accounts.roles import Action
from civicgrid.core.errors import ApplicationError
from civicgrid.core.exports import xlsx_response
from civicgrid.territory import services
from civicgrid.territory.forms import (
    AssignmentEndForm,
    AssignmentFilterForm,
    AssignmentForm,
    CoverageFilterForm,
    LocateForm,
)
from civicgrid.territory.models import REQUIRED_ROLE_BY_KIND, Node
from civicgrid.territory.reports import coverage_export as build_coverage_export
from civicgrid.territory.reports import missing_role_label
from civicgrid.territory.selectors import (
    assignment_get,
    assignment_list,
    coverage_gaps,
    coverage_summary,
    node_at_point,
    node_family,
    node_get,
    node_overview,
    node_path_labels,
    node_tree_level,
    responsibility_chain,
)
from civicgrid.web.permissions import querystring_without_page, requires

GAPS_PER_PAGE = 100
ASSIGNMENTS_PER_PAGE = 50


def _status(node: Node) -> str:
    """covered / gap / none (the kind needs no holder), from the tree facts a selector annotated."""
    if not getattr(node, "needs_holder", node.kind in REQUIRED_ROLE_BY_KIND):
        return "none"
    return "covered" if getattr(node, "is_covered", False) else "gap"


def _map_data(nodes: list[Node], *, focus: Node | None = None, context: Node | None = None) -> dict[str, Any]:
    """GeoJSON the page's map registers locally (no tile server): one feature per node with geometry;
    `context` (the focus node's parent) is drawn faintly underneath so a lone post or line has a setting."""
    features = []
    parents = {node.parent_id for node in nodes}
    if context is not None and context.geometry:
        nodes = [context, *nodes]
    for node in nodes:
        if not node.geometry:
            continue
        features.append(
            {
                "type": "Feature",
                "geometry": node.geometry,
                "properties": {
                    "code": node.code,
                    "name": node.name,
                    "kind": node.get_kind_display(),
                    "status": (
                        "context" if node is context
                        else "focus" if focus is not None and node.pk == focus.pk else _status(node)
                    ),
                    # A shown node whose children are shown too is drawn as an outline under them.
                    "is_parent": node.pk in parents and node is not context,
                    "url": reverse("territory:node", args=[node.pk]),
                },
            }
        )
    return {"type": "FeatureCollection", "features": features}


@requires(Action.VIEW_TERRITORY)
@require_GET
def tree(request: HttpRequest) -> HttpResponse:
    """The tree of the user's scope (children load on demand) and a map of the top two levels."""
    roots = list(node_tree_level(actor=request.user))
    shown = list(node_family(actor=request.user, nodes=roots))
    # The first level under each root comes with the page; deeper levels load on demand (htmx).
    levels = [(root, [node for node in shown if node.parent_id == root.pk]) for root in roots]
    return render(request, "territory/tree.html", {"levels": levels, "map_data": _map_data(shown)})


@requires(Action.VIEW_TERRITORY)
@require_GET
def children(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx fragment: the children of one node, as tree items."""
    node = node_get(actor=request.user, pk=pk)
    return render(request, "territory/_tree_children.html", {"nodes": node_tree_level(actor=request.user, parent=node)})


@requires(Action.VIEW_TERRITORY)
@require_GET
def node_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A node: breadcrumb, responsible people now and before, escalation chain, children, coverage, map."""
    overview = node_overview(actor=request.user, pk=pk)
    return render(
        request,
        "territory/node.html",
        {
            "o": overview,
            "node": overview.node,
            "required_role": missing_role_label(overview.node),
            "map_data": _map_data(
                [overview.node, *overview.children],
                focus=overview.node,
                context=overview.ancestors[-1] if overview.ancestors and not overview.children else None,
            ),
            "map_focus": True,
            "can_assign": request.user.can(Action.MANAGE_ASSIGNMENTS),  # type: ignore[union-attr]
            "can_export": request.user.can(Action.EXPORT),  # type: ignore[union-attr]
        },
    )


def _coverage_filters(request: HttpRequest) -> tuple[CoverageFilterForm, Node | None, dt.date]:
    form = CoverageFilterForm(request.GET, actor=request.user)
    root: Node | None = None
    on = timezone.localdate()
    if request.GET.get("node"):
        root = node_get(actor=request.user, pk=request.GET["node"])  # 404 outside the scope
    if form.is_valid() and form.cleaned_data["on"]:
        on = form.cleaned_data["on"]
    return form, root, on


@requires(Action.VIEW_TERRITORY)
@require_GET
def coverage(request: HttpRequest) -> HttpResponse:
    """Coverage of the user's scope or a subtree: summary and the nodes lacking a primary holder."""
    form, root, on = _coverage_filters(request)
    page = Paginator(coverage_gaps(actor=request.user, root=root, on=on), GAPS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    labels = node_path_labels(actor=request.user, nodes=list(page.object_list))
    rows = [(node, labels.get(node.pk, ""), missing_role_label(node)) for node in page.object_list]
    return render(
        request,
        "territory/coverage.html",
        {
            "form": form,
            "root": root,
            "on": on,
            "summary": coverage_summary(actor=request.user, root=root, on=on),
            "page_obj": page,
            "rows": rows,
            "querystring_without_page": querystring_without_page(request),
            "export_query": querystring_without_page(request).rstrip("&"),
            "can_export": request.user.can(Action.EXPORT),  # type: ignore[union-attr]
        },
    )


@requires(Action.EXPORT)
@require_GET
def coverage_export(request: HttpRequest) -> HttpResponse:
    """The coverage report as .xlsx (audited)."""
    _form, root, on = _coverage_filters(request)
    content = build_coverage_export(actor=request.user, root=root, on=on)
    name = _("包干覆盖_%(scope)s_%(day)s.xlsx") % {"scope": root.code if root else "all", "day": f"{on:%Y%m%d}"}
    return xlsx_response(name, content)


def _person_search(data: Any) -> str:
    """The assign form's person search text: bounded, without NUL (which PostgreSQL refuses)."""
    return str(data.get("person_q", "")).replace("\x00", "").strip()[:50]


def _assignments_page(
    request: HttpRequest, *, form: AssignmentForm | None = None, status: int = 200
) -> HttpResponse:
    user: Any = request.user
    filters = AssignmentFilterForm(request.GET, actor=user)
    filters.is_valid()
    data = filters.cleaned_data if hasattr(filters, "cleaned_data") else {}
    root: Node | None = data.get("node")
    period = data.get("period") or "current"
    on = data.get("on") if period == "on" else (None if period == "all" else timezone.localdate())
    if period == "on" and on is None:
        on = timezone.localdate()
    queryset = assignment_list(actor=user, node=root, subtree=True, on=on, role=data.get("role") or None)
    page = Paginator(queryset.order_by("node__path", "role", "-valid_from", "-pk"), ASSIGNMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    can_manage = user.can(Action.MANAGE_ASSIGNMENTS)
    if form is None and can_manage:
        initial: dict[str, Any] = {"valid_from": timezone.localdate(), "is_primary": True}
        if root is not None:
            initial["node"] = root.code
            if root.kind in REQUIRED_ROLE_BY_KIND:
                initial["role"] = REQUIRED_ROLE_BY_KIND[root.kind]
        form = AssignmentForm(
            actor=user, root=root, person_search=_person_search(request.GET), initial=initial
        )
    return render(
        request,
        "territory/assignments.html",
        {
            "filters": filters,
            "page_obj": page,
            "form": form,
            "today": timezone.localdate(),
            "can_manage": can_manage,
            "person_q": _person_search(request.GET),
            "querystring_without_page": querystring_without_page(request),
        },
        status=status,
    )


@requires(Action.VIEW_TERRITORY)
@require_GET
def assignments(request: HttpRequest) -> HttpResponse:
    """Responsibility assignments in scope (current, as of a date, or all), and the assign form."""
    return _assignments_page(request)


@requires(Action.MANAGE_ASSIGNMENTS)
@require_POST
def assignment_create(request: HttpRequest) -> HttpResponse:
    """Make a person responsible for a node in a role from a date."""
    form = AssignmentForm(request.POST, actor=request.user, person_search=_person_search(request.POST))
    if form.is_valid():
        try:
            assignment = services.assignment_start(
                actor=request.user,
                person=form.cleaned_data["person"],
                node=form.cleaned_data["node"],
                role=form.cleaned_data["role"],
                valid_from=form.cleaned_data["valid_from"],
                is_primary=form.cleaned_data["is_primary"],
                note=form.cleaned_data["note"],
            )
        except ApplicationError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(
                request,
                _("已安排 %(person)s 为 %(node)s 的%(role)s。")
                % {"person": assignment.person.name, "node": assignment.node.name,
                   "role": assignment.get_role_display()},
            )
            return redirect(f"{reverse('territory:assignments')}?node={assignment.node_id}")
    return _assignments_page(request, form=form, status=400)


@requires(Action.MANAGE_ASSIGNMENTS)
@require_POST
def assignment_end(request: HttpRequest, pk: int) -> HttpResponse:
    """End an assignment on a date; the row stays as history."""
    assignment = assignment_get(actor=request.user, pk=pk)
    form = AssignmentEndForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("请填写有效的终止日期。"))
    else:
        try:
            services.assignment_end(actor=request.user, assignment=assignment, valid_to=form.cleaned_data["valid_to"])
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("已终止 %(person)s 在 %(node)s 的%(role)s责任。")
                % {"person": assignment.person.name, "node": assignment.node.name,
                   "role": assignment.get_role_display()},
            )
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("territory:assignments")
    return redirect(target)


@requires(Action.VIEW_TERRITORY)
@require_GET
def locate(request: HttpRequest) -> HttpResponse:
    """Which node of the user's scope contains a point (the deepest), and who answers for it."""
    form = LocateForm(request.GET if {"lon", "lat"} & set(request.GET) else None)
    found: Node | None = None
    chain: list[Any] = []
    map_data: dict[str, Any] | None = None
    if form.is_valid():
        lon, lat = form.cleaned_data["lon"], form.cleaned_data["lat"]
        found = node_at_point(actor=request.user, lon=lon, lat=lat)
        if found is not None:
            chain = responsibility_chain(node=found)
            map_data = _map_data([found], focus=found)
            map_data["features"].append(
                {
                    "type": "Feature",
                    "geometry": {"type": "Point", "coordinates": [lon, lat]},
                    "properties": {"code": "__point__", "name": _("查询点"), "kind": "", "status": "marker", "url": ""},
                }
            )
    return render(
        request,
        "territory/locate.html",
        {"form": form, "searched": form.is_bound and form.is_valid(), "found": found, "chain": chain,
         "map_data": map_data, "map_focus": True},
    )

