"""Territory API: nodes, coverage, point lookup and responsibility assignments. Every handler reads
through a selector that takes the signed-in user (out of scope = 404), declares its action (else 403),
and turns a service's ApplicationError into 400 (the handler is on the NinjaAPI)."""

# No `from __future__ import annotations` here: django-ninja resolves handler annotations at import.

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_noop
from ninja import Field, Query, Router, Schema

from civicgrid.accounts.roles import Action
from civicgrid.config.api_support import SEARCH_PATTERN, api_requires, page_of
from civicgrid.people.selectors import person_get
from civicgrid.territory import services
from civicgrid.territory.models import REQUIRED_ROLE_BY_KIND, Node, NodeKind, ResponsibilityRole
from civicgrid.territory.reports import missing_role_label
from civicgrid.territory.selectors import (
    assignment_get,
    assignment_list,
    coverage_gaps,
    coverage_summary,
    node_at_point,
    node_get,
    node_list,
    node_overview,
    node_path_labels,
    node_tree_level,
)

router = Router(tags=["territory"])


class NodeRef(Schema):
    id: int
    code: str
    name: str


class NodeOut(NodeRef):
    kind: NodeKind
    kind_label: str
    parent_id: int | None
    depth: int
    path: str

    @staticmethod
    def resolve_kind_label(obj: Any) -> str:
        return str(obj["kind_label"]) if isinstance(obj, dict) else str(obj.get_kind_display())


class NodeTreeOut(NodeOut):
    needs_holder: bool
    is_covered: bool
    has_children: bool


class NodePage(Schema):
    count: int
    items: list[NodeOut]


class PersonRef(Schema):
    id: int
    name: str


class AssignmentOut(Schema):
    id: int
    node: NodeRef
    person: PersonRef
    role: ResponsibilityRole
    role_label: str
    is_primary: bool
    valid_from: dt.date
    valid_to: dt.date | None
    note: str

    @staticmethod
    def resolve_role_label(obj: Any) -> str:
        return str(obj["role_label"]) if isinstance(obj, dict) else str(obj.get_role_display())


class AssignmentPage(Schema):
    count: int
    items: list[AssignmentOut]


class CoverageSummaryOut(Schema):
    needing: int
    covered: int
    gaps: int
    percent: float


class NodeDetailOut(NodeOut):
    geometry: dict[str, Any] | None
    ancestors: list[NodeRef]
    current: list[AssignmentOut]
    chain: list[AssignmentOut]
    coverage: CoverageSummaryOut


class GapOut(NodeRef):
    kind: NodeKind
    kind_label: str
    parent_path: str
    missing_role: ResponsibilityRole
    missing_role_label: str


class CoverageOut(Schema):
    on: dt.date
    node: NodeRef | None
    summary: CoverageSummaryOut
    count: int
    items: list[GapOut]


class LocateOut(Schema):
    node: NodeOut | None


class AssignmentIn(Schema):
    node_id: int
    person_id: int
    role: ResponsibilityRole
    valid_from: dt.date
    is_primary: bool = True
    note: str = Field("", max_length=200)


class AssignmentEndIn(Schema):
    valid_to: dt.date


def _node_out(node: Node) -> dict[str, Any]:
    return {
        "id": node.pk, "code": node.code, "name": node.name, "kind": node.kind,
        "kind_label": str(node.get_kind_display()), "parent_id": node.parent_id, "depth": node.depth,
        "path": node.path,
    }


@router.get("/nodes", response=NodePage, summary=gettext_noop("网格节点列表"))
@api_requires(Action.VIEW_TERRITORY)
def list_nodes(
    request: HttpRequest,
    kind: NodeKind | None = None,
    search: str = Query("", max_length=50, pattern=SEARCH_PATTERN),
    root: int | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=200),
) -> Any:
    """Nodes in scope, optionally under a root node, of a kind, or matching a name/code prefix."""
    under = node_get(actor=request.user, pk=root) if root is not None else None
    count, items = page_of(
        node_list(actor=request.user, root=under, kind=kind, search=search.strip()), page=page, page_size=page_size
    )
    return {"count": count, "items": items}


@router.get("/nodes/{node_id}", response=NodeDetailOut, summary=gettext_noop("网格节点详情"))
@api_requires(Action.VIEW_TERRITORY)
def get_node(request: HttpRequest, node_id: int) -> Any:
    """A node with its breadcrumb, current holders, escalation chain and subtree coverage."""
    overview = node_overview(actor=request.user, pk=node_id)
    return {
        **_node_out(overview.node),
        "geometry": overview.node.geometry,
        "ancestors": overview.ancestors,
        "current": overview.current,
        "chain": overview.chain,
        "coverage": overview.summary,
    }


@router.get("/nodes/{node_id}/children", response=list[NodeTreeOut], summary=gettext_noop("下级节点"))
@api_requires(Action.VIEW_TERRITORY)
def get_children(request: HttpRequest, node_id: int) -> Any:
    """Direct children of a node with their coverage status."""
    node = node_get(actor=request.user, pk=node_id)
    return list(node_tree_level(actor=request.user, parent=node))


@router.get("/coverage", response=CoverageOut, summary=gettext_noop("包干覆盖"))
@api_requires(Action.VIEW_TERRITORY)
def get_coverage(
    request: HttpRequest,
    node: int | None = None,
    on: dt.date | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(100, ge=1, le=200),
) -> Any:
    """Coverage summary of the scope (or a subtree) and one page of the nodes lacking a primary holder."""
    root = node_get(actor=request.user, pk=node) if node is not None else None
    day = on or timezone.localdate()
    count, gaps = page_of(coverage_gaps(actor=request.user, root=root, on=day), page=page, page_size=page_size)
    labels = node_path_labels(actor=request.user, nodes=gaps)
    return {
        "on": day,
        "node": root,
        "summary": coverage_summary(actor=request.user, root=root, on=day),
        "count": count,
        "items": [
            {
                "id": gap.pk, "code": gap.code, "name": gap.name, "kind": gap.kind,
                "kind_label": str(gap.get_kind_display()), "parent_path": labels.get(gap.pk, ""),
                "missing_role": REQUIRED_ROLE_BY_KIND[gap.kind], "missing_role_label": missing_role_label(gap),
            }
            for gap in gaps
        ],
    }


@router.get("/locate", response=LocateOut, summary=gettext_noop("坐标定位"))
@api_requires(Action.VIEW_TERRITORY)
def locate(request: HttpRequest, lon: float = Query(..., ge=-180, le=180), lat: float = Query(..., ge=-90, le=90)) -> Any:
    """The deepest node in scope containing the point (WGS84 lon/lat), or null."""
    return {"node": node_at_point(actor=request.user, lon=lon, lat=lat)}


@router.get("/assignments", response=AssignmentPage, summary=gettext_noop("包干责任列表"))
@api_requires(Action.VIEW_TERRITORY)
def list_assignments(
    request: HttpRequest,
    node: int | None = None,
    role: ResponsibilityRole | None = None,
    current: bool = True,
    on: dt.date | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=200),
) -> Any:
    """Assignments in scope (under a node's subtree); in force on `on`, today if `current`, else all."""
    root = node_get(actor=request.user, pk=node) if node is not None else None
    day = on or (timezone.localdate() if current else None)
    queryset = assignment_list(actor=request.user, node=root, subtree=True, on=day, role=role).order_by(
        "node__path", "role", "-valid_from", "-pk"
    )
    count, items = page_of(queryset, page=page, page_size=page_size)
    return {"count": count, "items": items}


@router.post("/assignments", response={201: AssignmentOut}, summary=gettext_noop("安排责任人"))
@api_requires(Action.MANAGE_ASSIGNMENTS)
def create_assignment(request: HttpRequest, payload: AssignmentIn) -> Any:
    """Make a person (in scope) responsible for a node (in scope) in a role from a date."""
    assignment = services.assignment_start(
        actor=request.user,
        node=node_get(actor=request.user, pk=payload.node_id),
        person=person_get(actor=request.user, pk=payload.person_id),
        role=payload.role,
        valid_from=payload.valid_from,
        is_primary=payload.is_primary,
        note=payload.note.strip(),
    )
    return 201, assignment


@router.post("/assignments/{assignment_id}/end", response=AssignmentOut, summary=gettext_noop("终止包干责任"))
@api_requires(Action.MANAGE_ASSIGNMENTS)
def end_assignment(request: HttpRequest, assignment_id: int, payload: AssignmentEndIn) -> Any:
    """End an assignment on a date (exclusive); the row stays as history."""
    assignment = assignment_get(actor=request.user, pk=assignment_id)
    return services.assignment_end(actor=request.user, assignment=assignment, valid_to=payload.valid_to)
