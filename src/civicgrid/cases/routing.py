"""Who answers for a case: the node's current primary holder of the role its kind requires
(REQUIRED_ROLE_BY_KIND), and above them the escalation chain (督办), one holder per ancestor node,
nearest first — post officer → line leader → zone leader → brigade head; grid worker → village
cadre → town leader. Reads the responsibility assignments in force on the day."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from civicgrid.territory.models import REQUIRED_ROLE_BY_KIND, Assignment, Node
from civicgrid.territory.selectors import responsibility_chain


@dataclass(frozen=True)
class Routing:
    """The routed person (None: to triage), their active account if any, and why not when None."""

    person: Any | None
    account: Any | None
    reason: str = ""


def _usable(assignment: Assignment) -> bool:
    return assignment.person.deleted_at is None


def _account_of(person: Any) -> Any | None:
    account = getattr(person, "account", None)
    return account if account is not None and account.is_active else None


def route_case(node: Node, *, on: dt.date, chain: list[Assignment] | None = None) -> Routing:
    """The current primary holder of the role the node's kind requires, or the reason there is none."""
    role = REQUIRED_ROLE_BY_KIND.get(node.kind)
    if role is None:
        return Routing(None, None, _("“%(kind)s”类节点没有包干责任角色") % {"kind": node.get_kind_display()})
    chain = responsibility_chain(node=node, on=on) if chain is None else chain
    for assignment in chain:
        if assignment.node_id == node.pk and assignment.role == role and _usable(assignment):
            return Routing(assignment.person, _account_of(assignment.person))
    label = dict(Assignment._meta.get_field("role").flatchoices).get(role, role)
    return Routing(None, None, _("%(node)s当前没有%(role)s（第一责任人）") % {"node": node.name, "role": label})


def escalation_targets(node: Node, *, on: dt.date, exclude_person_id: int | None = None) -> list[Assignment]:
    """The escalation chain above the node: for each ancestor (nearest first), its current primary
    holder of the role its kind requires; vacant ancestors are skipped, and a person appears once."""
    chain = responsibility_chain(node=node, on=on)
    targets: list[Assignment] = []
    seen: set[int] = {exclude_person_id} if exclude_person_id is not None else set()
    for assignment in chain:
        ancestor = assignment.node
        if ancestor.depth >= node.depth or not _usable(assignment):
            continue
        if assignment.role != REQUIRED_ROLE_BY_KIND.get(ancestor.kind):
            continue
        if assignment.person_id in seen:
            continue
        seen.add(assignment.person_id)
        targets.append(assignment)
    return targets


def account_of(person: Any | None) -> Any | None:
    """The person's active account, if any (a responsible person without one is still recorded)."""
    return _account_of(person) if person is not None else None
