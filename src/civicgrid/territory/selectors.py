"""Reads on the territory tree and responsibilities; every one takes the actor and is scoped."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from civicgrid.territory import geometry
from civicgrid.territory.models import REQUIRED_ROLE_BY_KIND, Assignment, Node
from civicgrid.territory.policies import assignment_policy, node_policy


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
) -> QuerySet[Assignment]:
    """Assignments in scope; `on` limits to those in force that day; `subtree` includes descendants."""
    queryset = assignment_policy.viewable(actor).select_related("person", "node")
    if node is not None:
        queryset = queryset.filter(node__path__startswith=node.path) if subtree else queryset.filter(node=node)
    if on is not None:
        queryset = queryset.filter(_current_on(on))
    if role:
        queryset = queryset.filter(role=role)
    return queryset


def responsibility_chain(*, node: Node, on: dt.date | None = None) -> list[Assignment]:
    """Current primary holders from the node up to the root: the escalation chain (nearest first)."""
    day = on or timezone.localdate()
    ids = [int(part) for part in node.path.strip("/").split("/") if part]
    rows = list(
        Assignment.objects.filter(_current_on(day), node_id__in=ids, is_primary=True).select_related("person", "node")
    )
    return sorted(rows, key=lambda a: -a.node.depth)


def coverage_gaps(*, actor: Any, root: Node | None = None, on: dt.date | None = None) -> QuerySet[Node]:
    """Nodes in scope whose kind needs a responsible person and that have no primary holder in force
    on the day ("不漏一户，不漏一人"). One query with a correlated NOT EXISTS per required role."""
    day = on or timezone.localdate()
    queryset = node_list(actor=actor, root=root).filter(kind__in=list(REQUIRED_ROLE_BY_KIND))
    covered = Q()
    for kind, role in REQUIRED_ROLE_BY_KIND.items():
        holder = Assignment.objects.filter(_current_on(day), node=OuterRef("pk"), role=role, is_primary=True)
        covered |= Q(Q(kind=kind), Exists(holder))
    return queryset.exclude(covered).order_by("path")


def coverage_summary(*, actor: Any, root: Node | None = None, on: dt.date | None = None) -> dict[str, int]:
    """Counts for the coverage page: nodes needing a holder, gaps, and covered share in percent."""
    needing = node_list(actor=actor, root=root).filter(kind__in=list(REQUIRED_ROLE_BY_KIND)).count()
    gaps = coverage_gaps(actor=actor, root=root, on=on).count()
    percent = round(100 * (needing - gaps) / needing, 1) if needing else 100.0
    return {"needing": needing, "gaps": gaps, "covered": needing - gaps, "percent": percent}  # type: ignore[dict-item]


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
