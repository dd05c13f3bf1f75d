"""Reads on the territory tree and responsibilities; every one takes the actor and is scoped."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import BooleanField, Exists, ExpressionWrapper, OuterRef, Q, QuerySet
from django.utils import timezone

from civicgrid.territory import geometry
from civicgrid.territory.models import ALLOWED_PARENT_KINDS, REQUIRED_ROLE_BY_KIND, Assignment, Node
from civicgrid.territory.policies import assignment_policy, node_policy

# Kinds that may have children; the others (grids, posts) are the leaves of the tree.
PARENT_KINDS = frozenset(kind for kinds in ALLOWED_PARENT_KINDS.values() for kind in kinds if kind)


def node_list(*, actor: Any, root: Node | None = None, kind: str | None = None, search: str = "") -> QuerySet[Node]:
    """Nodes in the actor's scope, optionally under a root, of a kind, or matching a name/code."""
    queryset = node_policy.viewable(actor).filter(is_active=True)
    if root is not None:
        queryset = queryset.filter(path__startswith=root.path)
    if kind:
        queryset = queryset.filter(kind=kind)
    if search:
        queryset = queryset.filter(Q(name__contains=search) | Q(code__startswith=search))
    return queryset


def node_get(*, actor: Any, pk: Any) -> Node:
    """One node in scope, else 404."""
    return node_policy.get_viewable(actor, pk)


def node_roots(*, actor: Any) -> QuerySet[Node]:
    """The top nodes the actor sees: its granted nodes, without those nested in another grant."""
    from civicgrid.territory.scoping import scope_paths

    paths = scope_paths(actor)
    return node_policy.viewable(actor).filter(path__in=paths)


def node_children(*, actor: Any, node: Node) -> QuerySet[Node]:
    """Direct children of a node, in scope."""
    return node_policy.viewable(actor).filter(parent=node, is_active=True).order_by("kind", "code")


def node_ancestors(*, node: Node) -> QuerySet[Node]:
    """The chain from the root down to the node's parent (structural; the node itself is in scope)."""
    ids = [int(part) for part in node.path.strip("/").split("/")[:-1] if part]
    return Node.objects.filter(pk__in=ids).order_by("depth")


def _current_on(day: dt.date) -> Q:
    return Q(valid_from__lte=day) & (Q(valid_to__isnull=True) | Q(valid_to__gt=day))


def assignment_list(
    *,
    actor: Any,
    node: Node | None = None,
    subtree: bool = False,
    on: dt.date | None = None,
    role: str | None = None,
    person: Any = None,
) -> QuerySet[Assignment]:
    """Assignments in scope; `on` limits to those in force that day; `subtree` includes descendants;
    `person` limits to one person's assignments."""
    queryset = assignment_policy.viewable(actor).select_related("person", "node")
    if person is not None:
        queryset = queryset.filter(person=person)
    if node is not None:
        queryset = queryset.filter(node__path__startswith=node.path) if subtree else queryset.filter(node=node)
    if on is not None:
        queryset = queryset.filter(_current_on(on))
    if role:
        queryset = queryset.filter(role=role)
    return queryset


def assignment_get(*, actor: Any, pk: Any) -> Assignment:
    """One assignment in scope, else 404."""
    return assignment_policy.get_viewable(actor, pk, Assignment.objects.select_related("person", "node"))


def node_choices(*, actor: Any, leaves: bool = False) -> QuerySet[Node]:
    """Nodes in scope for a picker, in tree order; without `leaves`, only kinds that can have children
    (a county has thousands of grids and posts but few towns, villages, zones and lines)."""
    queryset = node_list(actor=actor).only("pk", "code", "name", "kind", "depth", "path")
    if not leaves:
        queryset = queryset.filter(kind__in=sorted(PARENT_KINDS))
    return queryset.order_by("path")


def responsibility_chain(*, node: Node, on: dt.date | None = None) -> list[Assignment]:
    """Current primary holders from the node up to the root: the escalation chain (nearest first)."""
    day = on or timezone.localdate()
    ids = [int(part) for part in node.path.strip("/").split("/") if part]
    rows = list(
        Assignment.objects.filter(_current_on(day), node_id__in=ids, is_primary=True).select_related("person", "node")
    )
    return sorted(rows, key=lambda a: -a.node.depth)


def _covered(day: dt.date) -> Q:
    """True for a node whose kind's required role has a primary holder in force on the day."""
    covered: Any = Q()
    for kind, role in REQUIRED_ROLE_BY_KIND.items():
        holder = Assignment.objects.filter(_current_on(day), node=OuterRef("pk"), role=role, is_primary=True)
        covered |= Q(kind=kind) & Exists(holder)
    return covered


def _gaps_in(queryset: QuerySet[Node], day: dt.date) -> QuerySet[Node]:
    return queryset.filter(kind__in=list(REQUIRED_ROLE_BY_KIND)).exclude(_covered(day)).order_by("path")


def _summary_of(queryset: QuerySet[Node], day: dt.date) -> dict[str, Any]:
    needing = queryset.filter(kind__in=list(REQUIRED_ROLE_BY_KIND)).count()
    gaps = _gaps_in(queryset, day).count()
    percent = round(100 * (needing - gaps) / needing, 1) if needing else 100.0
    return {"needing": needing, "gaps": gaps, "covered": needing - gaps, "percent": percent}


def coverage_gaps(*, actor: Any, root: Node | None = None, on: dt.date | None = None) -> QuerySet[Node]:
    """Nodes in scope whose kind needs a responsible person and that have no primary holder in force
    on the day ("不漏一户，不漏一人"). One query with a correlated NOT EXISTS per required role."""
    return _gaps_in(node_list(actor=actor, root=root), on or timezone.localdate())


def coverage_summary(*, actor: Any, root: Node | None = None, on: dt.date | None = None) -> dict[str, Any]:
    """Counts for the coverage page: nodes needing a holder, gaps, and covered share in percent."""
    return _summary_of(node_list(actor=actor, root=root), on or timezone.localdate())


def _with_tree_facts(queryset: QuerySet[Node], day: dt.date) -> QuerySet[Node]:
    return queryset.annotate(
        needs_holder=ExpressionWrapper(Q(kind__in=list(REQUIRED_ROLE_BY_KIND)), output_field=BooleanField()),
        is_covered=ExpressionWrapper(_covered(day), output_field=BooleanField()),
        has_children=Exists(Node.objects.filter(parent=OuterRef("pk"), is_active=True)),
    )


def node_tree_level(*, actor: Any, parent: Node | None = None, on: dt.date | None = None) -> QuerySet[Node]:
    """One level of the tree (the actor's roots, or a node's children) with `needs_holder`,
    `is_covered` and `has_children` annotated, so the tree needs no query per node."""
    queryset = node_roots(actor=actor) if parent is None else node_children(actor=actor, node=parent)
    return _with_tree_facts(queryset, on or timezone.localdate())


def node_family(*, actor: Any, nodes: list[Node], on: dt.date | None = None) -> QuerySet[Node]:
    """The given nodes and their direct children, in scope, with the tree facts (what a map shows)."""
    ids = [node.pk for node in nodes]
    queryset = node_policy.viewable(actor).filter(Q(pk__in=ids) | Q(parent_id__in=ids), is_active=True)
    return _with_tree_facts(queryset.order_by("depth", "path"), on or timezone.localdate())


def node_ancestors_in_scope(*, actor: Any, node: Node) -> QuerySet[Node]:
    """The node's ancestors the actor may see, root first (a breadcrumb stops at the granted node)."""
    ids = [int(part) for part in node.path.strip("/").split("/")[:-1] if part]
    return node_policy.viewable(actor).filter(pk__in=ids).order_by("depth")


def _path_labels(visible: QuerySet[Node], nodes: list[Node]) -> dict[int, str]:
    wanted: set[int] = set()
    for node in nodes:
        wanted.update(int(part) for part in node.path.strip("/").split("/")[:-1] if part)
    names = dict(visible.filter(pk__in=wanted).values_list("pk", "name")) if wanted else {}
    labels: dict[int, str] = {}
    for node in nodes:
        parts = [int(part) for part in node.path.strip("/").split("/")[:-1] if part]
        labels[node.pk] = " / ".join(names[pk] for pk in parts if pk in names)
    return labels


def node_path_labels(*, actor: Any, nodes: list[Node]) -> dict[int, str]:
    """For each node, the names of its ancestors in the actor's scope ("高新区 / 顾官屯镇"), one query."""
    return _path_labels(node_policy.viewable(actor), nodes)


@dataclass
class NodeOverview:
    """Everything the node page shows, gathered by one selector."""

    node: Node
    ancestors: list[Node]
    current: list[Assignment]
    history: list[Assignment]
    chain: list[Assignment]
    children: list[Node]
    summary: dict[str, Any]
    on: dt.date


def node_overview(*, actor: Any, pk: Any, on: dt.date | None = None) -> NodeOverview:
    """A node in scope (else 404) with its breadcrumb, holders, history, escalation chain, children
    with coverage status and the coverage summary of its subtree."""
    day = on or timezone.localdate()
    node = node_get(actor=actor, pk=pk)
    history = list(assignment_list(actor=actor, node=node).order_by("role", "-valid_from", "-pk"))
    return NodeOverview(
        node=node,
        ancestors=list(node_ancestors_in_scope(actor=actor, node=node)),
        current=[item for item in history if item.valid_from <= day and (item.valid_to is None or item.valid_to > day)],
        history=history,
        chain=responsibility_chain(node=node, on=day),
        children=list(node_tree_level(actor=actor, parent=node, on=day)),
        summary=coverage_summary(actor=actor, root=node, on=day),
        on=day,
    )


# --- The system actor (console commands run by an operator at the machine) -------------------------
# Kept apart and plainly named so that no web or API code path can reach an unscoped read by passing
# actor=None: these take no actor at all and see the whole tree from its roots.


def node_roots_for_system() -> QuerySet[Node]:
    """System reads: the roots of the tree (nodes without a parent)."""
    return Node.objects.filter(parent__isnull=True, is_active=True).order_by("path")


def node_get_by_code_for_system(code: str) -> Node | None:
    """System reads: the active node with a code, or None."""
    return Node.objects.filter(code=code.strip(), is_active=True).first()


def _system_nodes(root: Node | None) -> QuerySet[Node]:
    queryset = Node.objects.filter(is_active=True)
    return queryset.filter(path__startswith=root.path) if root is not None else queryset


def coverage_gaps_for_system(*, root: Node | None = None, on: dt.date | None = None) -> QuerySet[Node]:
    """System reads: coverage gaps under a root, or in the whole tree."""
    return _gaps_in(_system_nodes(root), on or timezone.localdate())


def coverage_summary_for_system(*, root: Node | None = None, on: dt.date | None = None) -> dict[str, Any]:
    """System reads: coverage counts under a root, or in the whole tree."""
    return _summary_of(_system_nodes(root), on or timezone.localdate())


def node_path_labels_for_system(*, nodes: list[Node]) -> dict[int, str]:
    """System reads: ancestor names of each node, one query."""
    return _path_labels(Node.objects.all(), nodes)


def node_at_point(*, actor: Any, lon: float, lat: float, tolerance: float = 0.0002) -> Node | None:
    """The deepest node in scope whose geometry contains the point: an indexed bounding-box filter,
    then an exact shapely test on the few candidates. Lines and posts match within ~20 m."""
    candidates = (
        node_policy.viewable(actor)
        .filter(
            is_active=True,
            min_lon__lte=lon + tolerance,
            max_lon__gte=lon - tolerance,
            min_lat__lte=lat + tolerance,
            max_lat__gte=lat - tolerance,
        )
        .order_by("-depth", "pk")
    )
    for node in candidates:
        if node.geometry and geometry.contains(node.geometry, lon, lat, tolerance=tolerance):
            return node
    return None
