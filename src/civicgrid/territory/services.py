"""Writes on the territory tree, responsibility assignments and data-scope grants.
Each service is atomic and writes its audit row in the same transaction. `actor=None` is the
system itself (CLI, demo, imports run by an administrator at the console)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.roles import Action
from civicgrid.core import audit
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction
from civicgrid.territory.geometry import bounding_box, parse_geometry
from civicgrid.territory.models import (
    ALLOWED_PARENT_KINDS,
    REQUIRED_ROLE_BY_KIND,
    Assignment,
    Grant,
    Node,
    NodeKind,
    ResponsibilityRole,
)
from civicgrid.territory.policies import assignment_policy, node_policy
from civicgrid.territory.scoping import forget_scope

COVERAGE_SOURCE = "territory.coverage"  # = indicator_sources.COVERAGE_SOURCE (not imported: no registry at import)


def _notify_coverage(node_id: int, day: dt.date) -> None:
    """After commit, tell the indicators engine that node `node_id`'s coverage changed from `day` on
    (a snapshot source: the engine carries it into every later period, up to today; a future day is
    taken in by the nightly refresh of running periods once it arrives)."""

    def send() -> None:
        from civicgrid.indicators.services import notify_changed

        notify_changed(source=COVERAGE_SOURCE, node_id=node_id, day=day)

    transaction.on_commit(send, robust=True)


def _check_can_change_node(actor: Any, node: Node | None) -> None:
    if actor is None:
        return
    if node is None:
        raise ApplicationError(_("只有系统管理可创建根节点"))
    if not node_policy.changeable(actor).filter(pk=node.pk).exists():
        raise ApplicationError(_("无权修改该网格节点"))


def _apply_geometry(node: Node, geojson: dict[str, Any] | None) -> None:
    if geojson is None:
        node.geometry = None
        node.min_lon = node.min_lat = node.max_lon = node.max_lat = None
        return
    geometry = parse_geometry(geojson)
    if geojson.get("type") == "Feature":
        geojson = geojson["geometry"]
    node.geometry = geojson
    node.min_lon, node.min_lat, node.max_lon, node.max_lat = bounding_box(geometry)


def node_create(
    *, actor: Any, parent: Node | None, kind: str, code: str, name: str, geometry: dict[str, Any] | None = None
) -> Node:
    """Create a node under a parent of an allowed kind and compute its materialised path."""
    if kind not in NodeKind.values:
        raise ApplicationError(_("未知的节点类型：%(kind)s") % {"kind": kind})
    parent_kind = parent.kind if parent else None
    if parent_kind not in ALLOWED_PARENT_KINDS[kind]:
        raise ApplicationError(
            _("“%(kind)s”不能设在“%(parent)s”之下")
            % {"kind": NodeKind(kind).label, "parent": NodeKind(parent_kind).label if parent_kind else _("根")}
        )
    if not code.strip() or not name.strip():
        raise ApplicationError(_("节点编码和名称不能为空"))
    _check_can_change_node(actor, parent)
    node = Node(parent=parent, kind=kind, code=code.strip(), name=name.strip())
    _apply_geometry(node, geometry)
    with transaction.atomic():
        if Node.objects.filter(code=node.code).exists():
            raise ApplicationError(_("节点编码 %(code)s 已存在") % {"code": node.code})
        node.save()
        node.path = f"{parent.path if parent else '/'}{node.pk}/"
        node.depth = parent.depth + 1 if parent else 0
        node.save(update_fields=["path", "depth"])
        audit.record(actor=actor, action=AuditAction.CREATE, instance=node, after=audit.snapshot(node))
        if node.kind in REQUIRED_ROLE_BY_KIND:  # one more node needing a primary holder, from today
            _notify_coverage(node.pk, timezone.localdate())
    return node


def node_update(
    *, actor: Any, node: Node, name: str | None = None, geometry: dict[str, Any] | None | object = ...,
) -> Node:
    """Rename a node or replace its geometry (pass geometry=None to clear it)."""
    _check_can_change_node(actor, node)
    with transaction.atomic():
        node = Node.objects.select_for_update().get(pk=node.pk)
        before = audit.snapshot(node)
        if name is not None:
            if not name.strip():
                raise ApplicationError(_("名称不能为空"))
            node.name = name.strip()
        if geometry is not ...:
            _apply_geometry(node, geometry)  # type: ignore[arg-type]
        node.save()
        old, new = audit.changed(before, audit.snapshot(node))
        if new:
            audit.record(actor=actor, action=AuditAction.UPDATE, instance=node, before=old, after=new)
    return node


def assignment_start(
    *,
    actor: Any,
    person: Any,
    node: Node,
    role: str,
    valid_from: dt.date,
    is_primary: bool = True,
    note: str = "",
) -> Assignment:
    """Make a person responsible for a node in a role from a date; a current primary holder of the
    same node and role is ended on that date, so history is kept and there is one current primary."""
    if role not in ResponsibilityRole.values:
        raise ApplicationError(_("未知的包干角色：%(role)s") % {"role": role})
    if actor is not None and not node_policy.viewable(actor).filter(pk=node.pk).exists():
        raise ApplicationError(_("无权在该节点安排责任人"))
    if actor is not None and not actor.can(assignment_policy.change_action):
        raise ApplicationError(_("无权安排包干责任"))
    with transaction.atomic():
        current = list(
            Assignment.objects.select_for_update()
            .filter(node=node, role=role, is_primary=True, valid_to__isnull=True)
            .exclude(person=person)
            .order_by("pk")
        ) if is_primary else []
        for previous in current:
            if previous.valid_from >= valid_from:
                raise ApplicationError(
                    _("现任责任人自 %(since)s 起任职，新任起始日期须晚于该日期")
                    % {"since": previous.valid_from}
                )
            assignment_end(actor=actor, assignment=previous, valid_to=valid_from)
        existing = Assignment.objects.filter(
            node=node, role=role, person=person, is_primary=is_primary, valid_to__isnull=True
        ).first()
        if existing is not None:
            return existing
        assignment = Assignment(
            person=person, node=node, role=role, is_primary=is_primary, valid_from=valid_from, note=note
        )
        try:
            with transaction.atomic():
                assignment.save()
        except IntegrityError as exc:
            raise ApplicationError(_("该节点该角色已有现任第一责任人")) from exc
        audit.record(actor=actor, action=AuditAction.CREATE, instance=assignment, after=audit.snapshot(assignment))
        if is_primary:  # coverage counts primary holders only
            _notify_coverage(node.pk, valid_from)
    return assignment


def assignment_end(*, actor: Any, assignment: Assignment, valid_to: dt.date) -> Assignment:
    """End an assignment on a date (exclusive); the row stays as history."""
    if assignment.valid_to is not None:
        # Re-ending would silently rewrite history (the period another holder may already continue).
        raise ApplicationError(_("该包干责任已于 %(date)s 终止") % {"date": assignment.valid_to})
    if valid_to <= assignment.valid_from:
        raise ApplicationError(_("终止日期须晚于起始日期"))
    if actor is not None and not assignment_policy.changeable(actor).filter(pk=assignment.pk).exists():
        raise ApplicationError(_("无权修改该包干责任"))
    with transaction.atomic():
        locked = Assignment.objects.select_for_update().filter(pk=assignment.pk, valid_to__isnull=True).first()
        if locked is None:  # someone else ended it since it was read
            raise ApplicationError(_("该包干责任已终止"))
        before = audit.snapshot(locked, fields=["valid_to"])
        locked.valid_to = valid_to
        if actor is not None:
            locked._history_user = actor  # type: ignore[attr-defined]
        locked.save(update_fields=["valid_to"])  # a save (not .update) so row history records the end
        assignment.valid_to = valid_to
        audit.record(
            actor=actor, action=AuditAction.UPDATE, instance=assignment, before=before,
            after=audit.snapshot(assignment, fields=["valid_to"]),
        )
        if locked.is_primary:
            _notify_coverage(locked.node_id, valid_to)
    return assignment


def grant_add(*, actor: Any, user: Any, node: Node) -> Grant:
    """Give an account the data scope of a subtree (a permission change, audited)."""
    if actor is not None and not actor.can(Action.MANAGE_ACCOUNTS):
        raise ApplicationError(_("无权变更数据范围"))
    with transaction.atomic():
        grant, created = Grant.objects.get_or_create(user=user, node=node)
        if created:
            audit.record(
                actor=actor, action=AuditAction.PERMISSION_CHANGE, instance=grant,
                after={"user": user.username, "node": node.code},
            )
    forget_scope(user)
    return grant


def grant_remove(*, actor: Any, grant: Grant) -> None:
    """Withdraw a data-scope grant (audited)."""
    if actor is not None and not actor.can(Action.MANAGE_ACCOUNTS):
        raise ApplicationError(_("无权变更数据范围"))
    with transaction.atomic():
        audit.record(
            actor=actor, action=AuditAction.PERMISSION_CHANGE, instance=grant,
            before={"user": grant.user.username, "node": grant.node.code},
        )
        grant.delete()
    forget_scope(grant.user)
