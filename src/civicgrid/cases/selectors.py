"""Reads on standards, inspections and cases; every one takes the actor. Cases, inspections and their
rows go through the scope policies (out of scope and missing are the same 404); standards are global
catalogue data, readable by any role that works with cases or inspections."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.roles import Action
from civicgrid.cases.inspections import applicable_items
from civicgrid.cases.models import (
    ACTIVE_STATUSES,
    OVERDUE_STATUSES,
    Case,
    CaseEvent,
    CaseStatus,
    Evidence,
    EvidenceKind,
    Inspection,
    InspectionResult,
    Standard,
    StandardItem,
    StandardVersion,
    VersionStatus,
)
from civicgrid.cases.policies import case_policy, evidence_policy, inspection_policy
from civicgrid.cases.services import allowed_actions
from civicgrid.people.models import Person
from civicgrid.territory.models import Node
from civicgrid.territory.selectors import assignment_list

QUEUES = ("my", "area", "overdue", "triage")
ACTIVE = "active"  # status filter: every status still someone's work


@dataclass
class CaseFilters:
    """Filters of the work queues (all optional)."""

    status: str = ""
    category: str = ""
    severity: str = ""
    source: str = ""
    node: Node | None = None  # its subtree
    overdue: bool = False
    search: str = ""


def case_list(
    *, actor: Any, queue: str = "area", filters: CaseFilters | None = None, today: dt.date | None = None
) -> QuerySet[Case]:
    """Cases in a work queue: `my` (assigned or escalated to the actor), `area` (all in scope),
    `overdue` (active, past the deadline), `triage` (no routable responsible person), filtered."""
    today = today or timezone.localdate()
    filters = filters or CaseFilters()
    queryset = case_policy.viewable(actor).select_related(
        "node", "responsible_person", "assignee", "escalated_to_person"
    )
    if queue == "my":
        queryset = queryset.filter(Q(assignee=actor) | Q(escalated_to_account=actor))
    elif queue == "overdue":
        queryset = queryset.filter(status__in=OVERDUE_STATUSES, deadline__lt=today)
    elif queue == "triage":
        queryset = queryset.filter(needs_triage=True, status=CaseStatus.OPEN)
    elif queue != "area":
        raise Http404
    if filters.status == ACTIVE:
        queryset = queryset.filter(status__in=ACTIVE_STATUSES)
    elif filters.status:
        queryset = queryset.filter(status=filters.status)
    if filters.category:
        queryset = queryset.filter(category=filters.category)
    if filters.severity:
        queryset = queryset.filter(severity=filters.severity)
    if filters.source:
        queryset = queryset.filter(source=filters.source)
    if filters.node is not None:
        queryset = queryset.filter(scope_path__startswith=filters.node.path)
    if filters.overdue:
        queryset = queryset.filter(status__in=OVERDUE_STATUSES, deadline__lt=today)
    if filters.search:
        queryset = queryset.filter(Q(title__contains=filters.search) | Q(description__contains=filters.search))
    return queryset.order_by("deadline", "pk")


def case_queue_counts(*, actor: Any, today: dt.date | None = None) -> dict[str, int]:
    """How many active cases each queue holds for the actor (the queue tabs)."""
    today = today or timezone.localdate()
    active = CaseFilters(status=ACTIVE)
    return {queue: case_list(actor=actor, queue=queue, filters=active, today=today).count() for queue in QUEUES}


def case_get(*, actor: Any, pk: Any) -> Case:
    """One case the actor may see (in scope, or assigned/escalated to them), else 404."""
    return case_policy.get_viewable(
        actor, pk, Case.objects.select_related("node", "responsible_person", "assignee", "escalated_to_person",
                                               "submitted_by", "verified_by", "created_by")
    )


def case_categories(*, actor: Any) -> list[str]:
    """Categories used by cases in the actor's scope (category is data, not a code list)."""
    return list(case_policy.viewable(actor).order_by("category").values_list("category", flat=True).distinct())


@dataclass
class CaseDetail:
    """Everything the case page shows."""

    case: Case
    events: list[CaseEvent]
    before: list[Evidence]
    after: list[Evidence]
    actions: list[str]
    inspection: Inspection | None = None
    escalation_chain: list[Any] = field(default_factory=list)


def case_detail(*, actor: Any, pk: Any) -> CaseDetail:
    """A case with its timeline (events with their photos), before/after photos and the actions the
    actor may take now."""
    case = case_get(actor=actor, pk=pk)
    evidence = list(Evidence.objects.filter(case=case).order_by("uploaded_at", "pk"))
    events = list(
        CaseEvent.objects.filter(case=case).select_related("actor", "person")
        .prefetch_related(Prefetch("evidence", queryset=Evidence.objects.order_by("pk")))
        .order_by("at", "pk")
    )
    inspection = None
    if case.inspection_result_id is not None:
        inspection = inspection_policy.viewable(actor).filter(results__pk=case.inspection_result_id).first()
    return CaseDetail(
        case=case,
        events=events,
        before=[row for row in evidence if row.kind == EvidenceKind.BEFORE],
        after=[row for row in evidence if row.kind == EvidenceKind.AFTER],
        actions=allowed_actions(actor=actor, case=case),
        inspection=inspection,
    )


def evidence_get(*, actor: Any, pk: Any) -> Evidence:
    """One photo the actor may see (its case or inspection in scope, or the actor's own case), else 404."""
    return evidence_policy.get_viewable(actor, pk)


def assignable_people(*, actor: Any, on: dt.date | None = None) -> QuerySet[Person]:
    """People holding a responsibility in force in the actor's scope: whom a case can be assigned to."""
    holders = assignment_list(actor=actor, on=on or timezone.localdate()).values("person_id")
    return Person.objects.filter(pk__in=holders, deleted_at__isnull=True).order_by("name", "pk")


def case_export_rows(*, actor: Any, queue: str, filters: CaseFilters, today: dt.date | None = None) -> list[list[Any]]:
    """The rows of a queue's .xlsx export (names of responsible people, no identity numbers)."""
    today = today or timezone.localdate()
    rows = []
    for case in case_list(actor=actor, queue=queue, filters=filters, today=today).iterator(chunk_size=2000):
        overdue = case.status in OVERDUE_STATUSES and case.deadline < today
        rows.append([
            case.pk, case.node.name, case.node.code, case.title, case.category, case.get_source_display(),
            case.get_severity_display(), case.get_status_display(), case.deadline,
            (today - case.deadline).days if overdue else 0,
            case.responsible_person.name if case.responsible_person else "",
            _("是") if case.needs_triage else _("否"), case.escalation_level,
            case.escalated_to_person.name if case.escalated_to_person else "",
            timezone.localtime(case.opened_at).replace(tzinfo=None),
            timezone.localtime(case.closed_at).replace(tzinfo=None) if case.closed_at else "",
            "" if case.closed_on_time is None else (_("是") if case.closed_on_time else _("否")),
        ])
    return rows


# The export is a report (nothing imports it), so its headers follow the reader's language.
EXPORT_HEADERS = [
    gettext_lazy("编号"), gettext_lazy("网格"), gettext_lazy("网格编码"), gettext_lazy("问题"), gettext_lazy("类别"),
    gettext_lazy("来源"), gettext_lazy("严重程度"), gettext_lazy("状态"), gettext_lazy("整改期限"),
    gettext_lazy("逾期天数"), gettext_lazy("责任人"), gettext_lazy("待分拣"), gettext_lazy("督办层级"),
    gettext_lazy("督办责任人"), gettext_lazy("登记时间"), gettext_lazy("销号时间"), gettext_lazy("按期整改"),
]


# --- inspections ----------------------------------------------------------------------------------


def inspection_list(
    *, actor: Any, node: Node | None = None, status: str = "", version: StandardVersion | None = None
) -> QuerySet[Inspection]:
    """Inspections in scope, newest first, optionally under a node, by status or standard version."""
    queryset = inspection_policy.viewable(actor).select_related("node", "inspector", "version__standard")
    if node is not None:
        queryset = queryset.filter(scope_path__startswith=node.path)
    if status:
        queryset = queryset.filter(status=status)
    if version is not None:
        queryset = queryset.filter(version=version)
    return queryset.order_by("-inspected_on", "-pk")


def inspection_get(*, actor: Any, pk: Any) -> Inspection:
    """One inspection in scope, else 404."""
    return inspection_policy.get_viewable(
        actor, pk, Inspection.objects.select_related("node", "inspector", "version__standard")
    )


@dataclass
class SheetRow:
    """One applicable item of an inspection with its result, photos and the case it opened."""

    item: StandardItem
    result: InspectionResult | None
    photos: list[Evidence]
    case: Case | None


@dataclass
class InspectionSheet:
    inspection: Inspection
    rows: list[SheetRow]

    @property
    def recorded(self) -> int:
        return sum(1 for row in self.rows if row.result is not None)


def inspection_sheet(*, actor: Any, pk: Any) -> InspectionSheet:
    """An inspection in scope with every applicable item, its result, photos and resulting case."""
    inspection = inspection_get(actor=actor, pk=pk)
    results = {
        result.item_id: result
        for result in InspectionResult.objects.filter(inspection=inspection).prefetch_related(
            Prefetch("evidence", queryset=Evidence.objects.order_by("pk"))
        )
    }
    cases = {case.inspection_result_id: case for case in case_policy.viewable(actor).filter(
        inspection_result__inspection=inspection
    )}
    rows = []
    for item in applicable_items(inspection.version, inspection.node.kind):
        result = results.get(item.pk)
        rows.append(
            SheetRow(
                item=item, result=result, photos=list(result.evidence.all()) if result is not None else [],
                case=cases.get(result.pk) if result is not None else None,
            )
        )
    return InspectionSheet(inspection=inspection, rows=rows)


# --- standards ------------------------------------------------------------------------------------


def can_read_standards(actor: Any) -> bool:
    """Whether the actor's role works with standards at all (catalogue data, no scope)."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        return False
    return any(actor.can(action) for action in (Action.VIEW_CASES, Action.INSPECT, Action.MANAGE_STANDARDS))


def standard_list(*, actor: Any) -> QuerySet[Standard]:
    """Every standard with its versions (newest first), for a role that works with standards."""
    if not can_read_standards(actor):
        return Standard.objects.none()
    return Standard.objects.prefetch_related(
        Prefetch("versions", queryset=StandardVersion.objects.order_by("-number"))
    ).order_by("code")


def standard_version_get(*, actor: Any, code: str, number: Any) -> StandardVersion:
    """One version by standard code and number, else 404."""
    if not can_read_standards(actor):
        raise Http404
    try:
        return StandardVersion.objects.select_related("standard", "created_by", "published_by").get(
            standard__code=code, number=int(number)
        )
    except (StandardVersion.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


def standard_version_items(*, actor: Any, version: StandardVersion) -> list[StandardItem]:
    """The items of a version in checklist order, with their sections."""
    if not can_read_standards(actor):
        return []
    return list(version.items.select_related("section").order_by("order"))


def published_versions(*, actor: Any) -> QuerySet[StandardVersion]:
    """Published versions an inspection may use, newest first within each standard."""
    if not can_read_standards(actor):
        return StandardVersion.objects.none()
    return StandardVersion.objects.filter(status=VersionStatus.PUBLISHED).select_related("standard").order_by(
        "standard__code", "-number"
    )


def published_version_get(*, actor: Any, pk: Any) -> StandardVersion:
    """A published version by id (for starting an inspection), else 404."""
    if not can_read_standards(actor):
        raise Http404
    try:
        return StandardVersion.objects.select_related("standard").get(pk=int(pk), status=VersionStatus.PUBLISHED)
    except (StandardVersion.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc


def assignable_person_get(*, actor: Any, pk: Any) -> Person:
    """One person a case in the actor's scope may be assigned to, else 404."""
    try:
        return assignable_people(actor=actor).get(pk=int(pk))
    except (Person.DoesNotExist, ValueError, TypeError, OverflowError) as exc:
        raise Http404 from exc
