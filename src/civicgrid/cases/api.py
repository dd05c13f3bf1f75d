"""Cases API: work queues and case detail, transitions (each its own POST, carrying the version the
client read), inspections (list, create, record results, complete) and the standards catalogue.
Mounted with `api.add_router("/cases/", router)`. Errors are `{"detail": ...}`: 400 a business rule
refused the request (an invalid transition, a stale version, a verifier who made the fix, a file that is
not an image …), 403 the role lacks the action, 404 missing or outside the data scope (the same answer)."""

# No `from __future__ import annotations` here: django-ninja resolves handler annotations at import.

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import Field, File, Form, Query, Router, Schema, UploadedFile
from ninja.security import django_auth

from civicgrid.accounts.roles import Action
from civicgrid.cases import inspections, selectors, services
from civicgrid.cases.models import (
    Case,
    CaseSource,
    CaseStatus,
    InspectionStatus,
    ScoringRule,
    Severity,
    StandardItem,
)
from civicgrid.config.api_support import SEARCH_PATTERN, api_requires, page_of
from civicgrid.core.errors import ApplicationError
from civicgrid.territory.selectors import node_get

router = Router(tags=["cases"], auth=django_auth)
TEXT = SEARCH_PATTERN  # free text: no NUL (PostgreSQL refuses it)
MAX_DECIMAL = Decimal("99999999999")


class ErrorOut(Schema):
    detail: str


ERRORS: dict[int, Any] = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut}


class NodeRef(Schema):
    id: int
    code: str
    name: str


class PersonRef(Schema):
    id: int
    name: str


class CaseOut(Schema):
    id: int
    node: NodeRef
    title: str
    category: str
    source: CaseSource
    severity: Severity
    status: CaseStatus
    status_label: str
    deadline: dt.date
    overdue_days: int
    responsible_person: PersonRef | None
    assignee: str | None = Field(None, description=gettext_noop("承办账号"))
    needs_triage: bool
    triage_reason: str
    escalation_level: int
    escalated_to_person: PersonRef | None
    escalation_exhausted: bool
    opened_at: dt.datetime
    closed_at: dt.datetime | None
    closed_on_time: bool | None
    rejection_count: int
    version: int = Field(..., description=gettext_noop("乐观锁版本：每个变更请求须带上读取时的版本"))

    @staticmethod
    def resolve_status_label(obj: Any) -> str:
        return str(obj["status_label"]) if isinstance(obj, dict) else str(obj.get_status_display())

    @staticmethod
    def resolve_assignee(obj: Any) -> str | None:
        if isinstance(obj, dict):
            return obj["assignee"]  # type: ignore[no-any-return]
        return obj.assignee.username if obj.assignee_id else None


class CasePage(Schema):
    count: int
    items: list[CaseOut]


class EvidenceOut(Schema):
    id: int
    kind: str
    uploaded_at: dt.datetime
    lon: float | None
    lat: float | None
    note: str
    url: str

    @staticmethod
    def resolve_url(obj: Any) -> str:
        return reverse("cases:evidence", args=[obj.pk])


class EventOut(Schema):
    kind: str
    kind_label: str
    at: dt.datetime
    actor_name: str
    from_status: str
    to_status: str
    note: str
    person: PersonRef | None
    escalation_level: int | None

    @staticmethod
    def resolve_kind_label(obj: Any) -> str:
        return str(obj.get_kind_display())

    @staticmethod
    def resolve_actor_name(obj: Any) -> str:
        return str(obj.actor_label)


class CaseDetailOut(CaseOut):
    description: str
    source_ref: str
    events: list[EventOut]
    before: list[EvidenceOut]
    after: list[EvidenceOut]
    actions: list[str] = Field(..., description=gettext_noop("当前用户此刻可执行的操作"))


class VersionIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1)
    note: str = Field("", max_length=2000, pattern=TEXT)


class ReasonIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1)
    reason: str = Field(..., min_length=1, max_length=200, pattern=TEXT)


class AssignIn(Schema):
    version: int = Field(..., ge=1, le=2**31 - 1)
    person_id: int | None = Field(None, description=gettext_noop("留空则按包干责任自动分派"))
    note: str = Field("", max_length=2000, pattern=TEXT)


def _detail(request: HttpRequest, case_id: int) -> dict[str, Any]:
    detail = selectors.case_detail(actor=request.user, pk=case_id)
    return {
        **{name: getattr(detail.case, name) for name in CaseDetailOut.model_fields if hasattr(detail.case, name)},
        "status_label": str(detail.case.get_status_display()),
        "assignee": detail.case.assignee.username if detail.case.assignee is not None else None,
        "events": detail.events, "before": detail.before, "after": detail.after, "actions": detail.actions,
    }


@router.get("/", response=CasePage, summary=gettext_noop("问题列表（工作队列）"))
@api_requires(Action.VIEW_CASES)
def list_cases(
    request: HttpRequest,
    queue: Literal["my", "area", "overdue", "triage"] = "area",
    status: Literal["", "active", "open", "assigned", "in_progress", "submitted", "closed", "cancelled"] = "",
    category: str = Query("", max_length=50, pattern=TEXT),
    severity: Severity | None = None,
    source: CaseSource | None = None,
    node: int | None = None,
    overdue: bool = False,
    search: str = Query("", max_length=50, pattern=TEXT),
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=200),
) -> Any:
    """Cases of a queue (my: assigned or escalated to me; area: my scope; overdue; triage), filtered."""
    filters = selectors.CaseFilters(
        status=status, category=category.strip(), severity=severity or "", source=source or "",
        node=node_get(actor=request.user, pk=node) if node is not None else None, overdue=overdue,
        search=search.strip(),
    )
    count, items = page_of(selectors.case_list(actor=request.user, queue=queue, filters=filters), page=page,
                           page_size=page_size)
    return {"count": count, "items": items}


# --- inspections ----------------------------------------------------------------------------------


class InspectionOut(Schema):
    id: int
    node: NodeRef
    standard_code: str
    version_number: int
    inspected_on: dt.date
    inspector: str
    status: InspectionStatus
    score_achieved: Decimal | None
    score_max: Decimal | None
    score_percent: Decimal | None
    items_checked: int
    items_passed: int
    items_failed: int
    items_not_applicable: int
    pass_rate: float | None

    @staticmethod
    def resolve_standard_code(obj: Any) -> str:
        return obj["standard_code"] if isinstance(obj, dict) else str(obj.version.standard.code)  # type: ignore[no-any-return]

    @staticmethod
    def resolve_version_number(obj: Any) -> int:
        return obj["version_number"] if isinstance(obj, dict) else int(obj.version.number)  # type: ignore[no-any-return]

    @staticmethod
    def resolve_inspector(obj: Any) -> str:
        return obj["inspector"] if isinstance(obj, dict) else str(obj.inspector)  # type: ignore[no-any-return]


class InspectionPage(Schema):
    count: int
    items: list[InspectionOut]


class ItemOut(Schema):
    id: int
    code: str
    section: str
    title: str
    criteria: str
    rule: ScoringRule
    points: Decimal
    comparison: str
    threshold: Decimal | None
    unit: str
    applies_to: list[str]

    @staticmethod
    def resolve_section(obj: Any) -> str:
        return str(obj.section.title)


class ResultOut(Schema):
    item: ItemOut
    recorded: bool
    not_applicable: bool | None
    passed: bool | None
    measured_value: Decimal | None
    points_awarded: Decimal | None
    points_max: Decimal | None
    note: str
    photos: list[EvidenceOut]
    case_id: int | None


class InspectionDetailOut(InspectionOut):
    results: list[ResultOut]


class InspectionIn(Schema):
    version_id: int = Field(..., description=gettext_noop("已发布的测评体系版本"))
    node_id: int
    inspected_on: dt.date
    note: str = Field("", max_length=500, pattern=TEXT)


class ResultIn(Schema):
    item: str = Field(..., max_length=20, pattern=TEXT, description=gettext_noop("项目编号（如 1.1）"))
    passed: bool | None = Field(None, description=gettext_noop("合格/不合格项目"))
    points: Decimal | None = Field(None, ge=0, le=9999, allow_inf_nan=False, description=gettext_noop("计分项目的得分"))
    measured: Decimal | None = Field(None, ge=-MAX_DECIMAL, le=MAX_DECIMAL, allow_inf_nan=False,
                                     description=gettext_noop("实测值项目的实测值"))
    not_applicable: bool = False
    note: str = Field("", max_length=500, pattern=TEXT)
    lon: float | None = Field(None, ge=-180, le=180)
    lat: float | None = Field(None, ge=-90, le=90)


class ResultsIn(Schema):
    results: list[ResultIn] = Field(..., min_length=1, max_length=500)


class CompleteIn(Schema):
    deadline: dt.date | None = Field(None, description=gettext_noop("不合格项目生成问题的整改期限，默认完成日起 7 天"))
    severity: Severity = Severity.MEDIUM


def _inspection_detail(request: HttpRequest, inspection_id: int) -> dict[str, Any]:
    sheet = selectors.inspection_sheet(actor=request.user, pk=inspection_id)
    inspection = sheet.inspection
    data = {name: getattr(inspection, name) for name in InspectionOut.model_fields if hasattr(inspection, name)}
    data.update(
        standard_code=inspection.version.standard.code, version_number=inspection.version.number,
        inspector=str(inspection.inspector), pass_rate=inspection.pass_rate,
        results=[
            {
                "item": row.item, "recorded": row.result is not None,
                "not_applicable": row.result.not_applicable if row.result else None,
                "passed": row.result.passed if row.result else None,
                "measured_value": row.result.measured_value if row.result else None,
                "points_awarded": row.result.points_awarded if row.result else None,
                "points_max": row.result.points_max if row.result else None,
                "note": row.result.note if row.result else "", "photos": row.photos,
                "case_id": row.case.pk if row.case else None,
            }
            for row in sheet.rows
        ],
    )
    return data


@router.get("/inspections", response=InspectionPage, summary=gettext_noop("测评检查列表"))
@api_requires(Action.INSPECT)
def list_inspections(
    request: HttpRequest,
    node: int | None = None,
    status: InspectionStatus | None = None,
    page: int = Query(1, ge=1),
    page_size: int = Query(50, ge=1, le=200),
) -> Any:
    """Inspections in scope, newest first, optionally under a node or by status."""
    under = node_get(actor=request.user, pk=node) if node is not None else None
    count, items = page_of(selectors.inspection_list(actor=request.user, node=under, status=status or ""),
                           page=page, page_size=page_size)
    return {"count": count, "items": items}


@router.post("/inspections", response={201: InspectionDetailOut, **ERRORS}, summary=gettext_noop("开始测评检查"))
@api_requires(Action.INSPECT)
def create_inspection(request: HttpRequest, payload: InspectionIn) -> Any:
    """Start an inspection of a node in scope against a published version (its kinds must cover the node)."""
    node = node_get(actor=request.user, pk=payload.node_id)
    version = selectors.published_version_get(actor=request.user, pk=payload.version_id)
    inspection = inspections.inspection_create(
        actor=request.user, version=version, node=node, inspected_on=payload.inspected_on, note=payload.note
    )
    return 201, _inspection_detail(request, inspection.pk)


@router.get("/inspections/{inspection_id}", response={200: InspectionDetailOut, **ERRORS}, summary=gettext_noop("检查详情"))
@api_requires(Action.VIEW_CASES)
def get_inspection(request: HttpRequest, inspection_id: int) -> Any:
    """An inspection with every applicable item, its result, photos and the case a failure opened."""
    return _inspection_detail(request, inspection_id)


def _item(inspection: Any, code: str) -> StandardItem:
    item = inspection.version.items.filter(code=code).first()
    if item is None:
        raise ApplicationError(_("本次检查没有编号为 %(code)s 的项目") % {"code": code})
    return item  # type: ignore[no-any-return]


@router.post("/inspections/{inspection_id}/results", response={200: InspectionDetailOut, **ERRORS},
             summary=gettext_noop("记录检查结果"))
@api_requires(Action.INSPECT)
def record_inspection_results(request: HttpRequest, inspection_id: int, payload: ResultsIn) -> Any:
    """Record (or correct) item results while the inspection is open; photos are added on the page."""
    inspection = selectors.inspection_get(actor=request.user, pk=inspection_id)
    for result in payload.results:
        inspections.inspection_record_result(
            actor=request.user, inspection=inspection, item=_item(inspection, result.item), passed=result.passed,
            points=result.points, measured=result.measured, not_applicable=result.not_applicable,
            note=result.note, lon=result.lon, lat=result.lat,
        )
    return _inspection_detail(request, inspection_id)


@router.post("/inspections/{inspection_id}/complete", response={200: InspectionDetailOut, **ERRORS},
             summary=gettext_noop("完成检查（生成问题）"))
@api_requires(Action.INSPECT)
def complete_inspection(request: HttpRequest, inspection_id: int, payload: CompleteIn) -> Any:
    """Score the inspection and open a routed case for every failed item."""
    inspection = selectors.inspection_get(actor=request.user, pk=inspection_id)
    inspections.inspection_complete(actor=request.user, inspection=inspection, deadline=payload.deadline,
                                    severity=payload.severity)
    return _inspection_detail(request, inspection_id)


# --- standards ------------------------------------------------------------------------------------


class VersionOut(Schema):
    id: int
    number: int
    status: str
    effective_from: dt.date
    published_at: dt.datetime | None
    note: str


class StandardOut(Schema):
    code: str
    name: str
    description: str
    versions: list[VersionOut]

    @staticmethod
    def resolve_versions(obj: Any) -> list[Any]:
        return list(obj.versions.all())


class VersionDetailOut(VersionOut):
    standard: str
    items: list[ItemOut]


@router.get("/standards", response=list[StandardOut], summary=gettext_noop("测评体系目录"))
@api_requires(Action.VIEW_CASES)
def list_standards(request: HttpRequest) -> Any:
    """Every standard with its versions (global catalogue data)."""
    return list(selectors.standard_list(actor=request.user))


@router.get("/standards/{code}/versions/{number}", response={200: VersionDetailOut, **ERRORS},
            summary=gettext_noop("测评体系版本（检查项目）"))
@api_requires(Action.VIEW_CASES)
def get_standard_version(request: HttpRequest, code: str, number: int) -> Any:
    """A version's items with their scoring rules and node kinds."""
    version = selectors.standard_version_get(actor=request.user, code=code, number=number)
    return {
        "id": version.pk, "number": version.number, "status": version.status,
        "effective_from": version.effective_from, "published_at": version.published_at, "note": version.note,
        "standard": version.standard.code,
        "items": selectors.standard_version_items(actor=request.user, version=version),
    }


# --- one case (registered last: `/{case_id}` must not shadow `/inspections` and `/standards`) ------


@router.get("/{case_id}", response={200: CaseDetailOut, **ERRORS}, summary=gettext_noop("问题详情"))
@api_requires(Action.VIEW_CASES)
def get_case(request: HttpRequest, case_id: int) -> Any:
    """A case with its history, before/after photos and the actions the caller may take now."""
    return _detail(request, case_id)


def _case(request: HttpRequest, case_id: int) -> Case:
    return selectors.case_get(actor=request.user, pk=case_id)


@router.post("/{case_id}/start", response={200: CaseDetailOut, **ERRORS}, summary=gettext_noop("开始整改"))
@api_requires(Action.HANDLE_CASES)
def case_start(request: HttpRequest, case_id: int, payload: VersionIn) -> Any:
    """The responsible person (or a case manager in scope) starts fixing an assigned case."""
    services.case_start(actor=request.user, case=_case(request, case_id), version=payload.version, note=payload.note)
    return _detail(request, case_id)


@router.post("/{case_id}/submit", response={200: CaseDetailOut, **ERRORS}, summary=gettext_noop("提交整改（附照片）"))
@api_requires(Action.HANDLE_CASES)
def case_submit(
    request: HttpRequest,
    case_id: int,
    photos: File[list[UploadedFile]],
    version: int = Form(..., ge=1, le=2**31 - 1),
    note: str = Form("", max_length=2000, pattern=TEXT),
    lon: float | None = Form(None, ge=-180, le=180),
    lat: float | None = Form(None, ge=-90, le=90),
) -> Any:
    """Submit the fix (multipart): at least one after-photo (JPEG/PNG/WebP), optional place."""
    case = _case(request, case_id)
    services.case_submit(actor=request.user, case=case, version=version, note=note, photos_in=photos, lon=lon, lat=lat)
    return _detail(request, case_id)


@router.post("/{case_id}/verify", response={200: CaseDetailOut, **ERRORS}, summary=gettext_noop("核查通过销号"))
@api_requires(Action.VERIFY_CASES)
def case_verify(request: HttpRequest, case_id: int, payload: VersionIn) -> Any:
    """Close a submitted case; refused to whoever submitted or is assigned the fix (交叉复核)."""
    services.case_verify(actor=request.user, case=_case(request, case_id), version=payload.version, note=payload.note)
    return _detail(request, case_id)


@router.post("/{case_id}/reject", response={200: CaseDetailOut, **ERRORS}, summary=gettext_noop("核查退回"))
@api_requires(Action.VERIFY_CASES)
def case_reject(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    """Send a submitted fix back to work with the reason."""
    services.case_reject(actor=request.user, case=_case(request, case_id), version=payload.version,
                         reason=payload.reason)
    return _detail(request, case_id)


@router.post("/{case_id}/assign", response={200: CaseDetailOut, **ERRORS}, summary=gettext_noop("分派 / 改派"))
@api_requires(Action.MANAGE_CASES)
def case_assign(request: HttpRequest, case_id: int, payload: AssignIn) -> Any:
    """Assign to a person holding a responsibility in scope, or route again by the assignments in force."""
    case = _case(request, case_id)
    person = (
        selectors.assignable_person_get(actor=request.user, pk=payload.person_id)
        if payload.person_id is not None else None
    )
    services.case_assign(actor=request.user, case=case, version=payload.version, person=person, note=payload.note)
    return _detail(request, case_id)


@router.post("/{case_id}/cancel", response={200: CaseDetailOut, **ERRORS}, summary=gettext_noop("撤销问题"))
@api_requires(Action.MANAGE_CASES)
def case_cancel(request: HttpRequest, case_id: int, payload: ReasonIn) -> Any:
    """Cancel an active case with the reason."""
    services.case_cancel(actor=request.user, case=_case(request, case_id), version=payload.version,
                         reason=payload.reason)
    return _detail(request, case_id)
