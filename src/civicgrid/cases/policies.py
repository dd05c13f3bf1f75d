"""Scope policies of the cases models.

Cases, their history and evidence, inspections and their results carry the territory path of their
node (`scope_path`, copied at creation) and are scoped like every registry. A case is also visible to
the account it is assigned or escalated to, even outside that account's granted subtrees: whoever
must fix a problem can always see it.

Standards (Standard, StandardVersion, StandardSection, StandardItem) are not registered: they are
global catalogue data with no territory (one checklist serves every county that adopts it), carry no
path and no reference to a scoped model, and hold no personal information; reading them needs a
case-related action (selectors.standard_list) and changing them MANAGE_STANDARDS."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Q, QuerySet

from civicgrid.accounts.roles import Action
from civicgrid.cases.models import Case, CaseEvent, Evidence, Inspection, InspectionResult
from civicgrid.territory.scoping import M, ScopePolicy, register, scope_q


@dataclass(frozen=True)
class AssigneeVisiblePolicy(ScopePolicy[M]):
    """A scope policy whose rows are also viewable by the case's assignee and escalation account;
    `case_prefix` leads from the model to its case ("" for Case itself, "case__" for its rows)."""

    case_prefix: str = ""

    def _scoped(self, actor: Any, action: Action, queryset: QuerySet[M] | None) -> QuerySet[M]:
        base = queryset if queryset is not None else self.model._default_manager.all()
        if actor is None or not getattr(actor, "is_authenticated", False) or not actor.can(action):
            return base.none()
        condition = scope_q(actor, self.path_field)
        if action == self.view_action:
            mine = Q(**{f"{self.case_prefix}assignee": actor}) | Q(**{f"{self.case_prefix}escalated_to_account": actor})
            condition = mine if condition is None else condition | mine
        if condition is None:
            return base.none()
        return base.filter(condition)


case_policy = register(AssigneeVisiblePolicy(Case, "scope_path", Action.VIEW_CASES, Action.MANAGE_CASES))
case_event_policy = register(
    AssigneeVisiblePolicy(CaseEvent, "case__scope_path", Action.VIEW_CASES, Action.MANAGE_CASES, case_prefix="case__")
)
evidence_policy = register(
    AssigneeVisiblePolicy(Evidence, "scope_path", Action.VIEW_CASES, Action.HANDLE_CASES, case_prefix="case__")
)
inspection_policy = register(ScopePolicy(Inspection, "scope_path", Action.VIEW_CASES, Action.INSPECT))
inspection_result_policy = register(
    ScopePolicy(InspectionResult, "inspection__scope_path", Action.VIEW_CASES, Action.INSPECT)
)
