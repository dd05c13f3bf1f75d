"""Writes on cases: open (routed to the responsible person, or to triage), assign, start, submit with
evidence, verify or reject (never by the one who submitted: 交叉复核), cancel, and the escalation of
overdue cases up the responsibility chain. Each service is atomic, writes its CaseEvent and audit
rows in the same transaction, and checks the case's `version` (optimistic locking): a caller who
read version n may change the case only while it is still at version n.

`actor=None` is the system (the escalation job, the demo). `now` lets the demo and tests act at a
given moment; it defaults to the current time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from civicgrid.accounts.roles import Action
from civicgrid.cases import evidence as photos
from civicgrid.cases.models import (
    ACTIVE_STATUSES,
    OVERDUE_STATUSES,
    Case,
    CaseEvent,
    CaseEventKind,
    CaseSource,
    CaseStatus,
    Evidence,
    EvidenceKind,
    InspectionResult,
    Severity,
)
from civicgrid.cases.routing import account_of, escalation_targets, route_case
from civicgrid.core import audit
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction
from civicgrid.territory.models import Node
from civicgrid.territory.scoping import path_in_scope

STALE: str = gettext_lazy("该问题已被他人修改，请刷新后重试")  # type: ignore[assignment]  # lazy: rendered in the reader's language
DEFAULT_ESCALATION_DAYS = 3
# Stored as the actor name of automatic events; shown through CaseEvent.actor_label, translated.
SYSTEM_NAME = "系统"

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "assign": (frozenset({CaseStatus.OPEN, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS}), CaseStatus.ASSIGNED),
    "start": (frozenset({CaseStatus.ASSIGNED}), CaseStatus.IN_PROGRESS),
    "submit": (frozenset({CaseStatus.IN_PROGRESS}), CaseStatus.SUBMITTED),
    "verify": (frozenset({CaseStatus.SUBMITTED}), CaseStatus.CLOSED),
    "reject": (frozenset({CaseStatus.SUBMITTED}), CaseStatus.IN_PROGRESS),
    "cancel": (frozenset(ACTIVE_STATUSES), CaseStatus.CANCELLED),
}
# Chinese in the audit trail (the reason of the event), translated where a message shows them.
ACTION_LABELS = {
    "assign": gettext_noop("分派"), "start": gettext_noop("开始整改"), "submit": gettext_noop("提交整改"),
    "verify": gettext_noop("核查通过销号"), "reject": gettext_noop("核查退回"), "cancel": gettext_noop("撤销"),
}


def escalation_step_days() -> int:
    """Days overdue per escalation level (setting CIVICGRID_CASE_ESCALATION_DAYS, default 3)."""
    return max(1, int(getattr(settings, "CIVICGRID_CASE_ESCALATION_DAYS", DEFAULT_ESCALATION_DAYS)))


def _moment(now: dt.datetime | None) -> dt.datetime:
    return now or timezone.now()


def _actor_name(actor: Any) -> str:
    return str(actor) if actor is not None else SYSTEM_NAME


def _notify_cases(node_id: int, days: Iterable[dt.date | None]) -> None:
    """After commit, tell the indicators engine which (node, day) of `cases.case` changed."""
    notify_indicators("cases.case", node_id, days)


def notify_indicators(source: str, node_id: int, days: Iterable[dt.date | None]) -> None:
    wanted = sorted({day for day in days if day is not None})

    def send() -> None:
        from civicgrid.indicators.services import notify_changed

        # One call with every day: one locked round per indicator, not one per day.
        notify_changed(source=source, node_id=node_id, days=wanted)

    transaction.on_commit(send, robust=True)


def _local_day(moment: dt.datetime | None) -> dt.date | None:
    return timezone.localdate(moment) if moment is not None else None


def _event(
    case: Case, *, kind: str, actor: Any, at: dt.datetime, from_status: str = "", to_status: str = "",
    note: str = "", person: Any = None, level: int | None = None,
) -> CaseEvent:
    return CaseEvent.objects.create(
        case=case, kind=kind, actor=actor, actor_name=_actor_name(actor), at=at, from_status=from_status,
        to_status=to_status, note=note, person=person, escalation_level=level,
    )


def store_photos(
    checked: Sequence[tuple[bytes, photos.ImageInfo]], *, kind: str, actor: Any, at: dt.datetime, scope_path: str,
    written: list[str], case: Case | None = None, event: CaseEvent | None = None,
    result: InspectionResult | None = None, lon: float | None = None, lat: float | None = None, note: str = "",
) -> list[Evidence]:
    """Save checked photos as Evidence rows; `written` collects file names to remove if the
    transaction fails (the database rolls back, the disk does not)."""
    rows = []
    for data, info in checked:
        row = Evidence(
            content_type=info.content_type, size=len(data), sha256=photos.digest(data), width=info.width,
            height=info.height, kind=kind, note=note[:200], lon=lon, lat=lat, uploaded_at=at, uploaded_by=actor,
            scope_path=scope_path, case=case, case_event=event, inspection_result=result,
        )
        row.file.save("photo", photos.content_file(data), save=False)
        written.append(str(row.file.name))
        row.save()
        rows.append(row)
    return rows


def run_with_files(work: Callable[[list[str]], Any]) -> Any:
    """Run `work(written)` in a transaction; if it fails, delete the files it wrote."""
    written: list[str] = []
    try:
        with transaction.atomic():
            return work(written)
    except BaseException:
        from django.core.files.storage import default_storage

        for name in written:
            default_storage.delete(name)
        raise


# --- opening --------------------------------------------------------------------------------------


def _check_open_input(*, title: str, category: str, source: str, severity: str, deadline: dt.date, today: dt.date) -> None:
    if not title.strip():
        raise ApplicationError(_("请填写问题"))
    if not category.strip():
        raise ApplicationError(_("请填写类别"))
    if source not in CaseSource.values:
        raise ApplicationError(_("未知的问题来源：%(source)s") % {"source": source})
    if severity not in Severity.values:
        raise ApplicationError(_("未知的严重程度：%(severity)s") % {"severity": severity})
    if deadline < today:
        raise ApplicationError(
            _("整改期限 %(deadline)s 已过，不能早于今天 %(today)s") % {"deadline": deadline.isoformat(), "today": today.isoformat()}
        )


def open_case(
    *,
    actor: Any,
    node: Node,
    title: str,
    category: str,
    source: str,
    deadline: dt.date,
    description: str = "",
    severity: str = Severity.MEDIUM,
    source_ref: str = "",
    inspection_result: InspectionResult | None = None,
    checked_photos: Sequence[tuple[bytes, photos.ImageInfo]] = (),
    before_evidence: Sequence[Evidence] = (),
    written: list[str] | None = None,
    now: dt.datetime | None = None,
) -> Case:
    """Open a case without permission checks (callers check): routed to the node's responsible person,
    or flagged for triage. Must run inside the caller's transaction."""
    at = _moment(now)
    today = timezone.localdate(at)
    _check_open_input(title=title, category=category, source=source, severity=severity, deadline=deadline, today=today)
    routing = route_case(node, on=today)
    status = CaseStatus.ASSIGNED if routing.person is not None else CaseStatus.OPEN
    case = Case.objects.create(
        node=node, scope_path=node.path, title=title.strip()[:200], category=category.strip()[:50], source=source,
        source_ref=source_ref[:100], inspection_result=inspection_result, description=description.strip(),
        severity=severity, deadline=deadline, status=status, responsible_person=routing.person,
        assignee=routing.account, needs_triage=routing.person is None, triage_reason=routing.reason[:200],
        opened_at=at, created_by=actor,
    )
    _event(case, kind=CaseEventKind.OPEN, actor=actor, at=at, to_status=CaseStatus.OPEN, note=description.strip())
    if routing.person is not None:
        _event(case, kind=CaseEventKind.ROUTE, actor=None, at=at, from_status=CaseStatus.OPEN,
               to_status=CaseStatus.ASSIGNED, person=routing.person,
               note=_("自动分派给 %(name)s") % {"name": routing.person.name})
    else:
        _event(case, kind=CaseEventKind.TRIAGE, actor=None, at=at, from_status=CaseStatus.OPEN,
               to_status=CaseStatus.OPEN, note=routing.reason)
    if checked_photos:
        store_photos(checked_photos, kind=EvidenceKind.BEFORE, actor=actor, at=at, scope_path=node.path,
                      written=written if written is not None else [], case=case)
    for row in before_evidence:
        Evidence.objects.filter(pk=row.pk).update(case=case)
    audit.record(actor=actor, action=AuditAction.CREATE, instance=case, after=audit.snapshot(case))
    _notify_cases(node.pk, [today, deadline])
    return case


def case_open(
    *,
    actor: Any,
    node: Node,
    title: str,
    category: str,
    deadline: dt.date,
    source: str = CaseSource.MANUAL,
    description: str = "",
    severity: str = Severity.MEDIUM,
    source_ref: str = "",
    photos_in: Iterable[Any] = (),
    now: dt.datetime | None = None,
) -> Case:
    """Register a case on a node in the actor's scope (MANAGE_CASES; `actor=None` is the system, e.g.
    a coverage-gap or reconciliation job); it is routed at once or goes to the triage queue."""
    if actor is not None:
        if not actor.can(Action.MANAGE_CASES):
            raise ApplicationError(_("无权登记问题"))
        if not path_in_scope(actor, node.path):
            raise ApplicationError(_("该网格不在您的数据范围内"))
    checked = photos.check_uploads(photos_in)

    def work(written: list[str]) -> Case:
        return open_case(
            actor=actor, node=node, title=title, category=category, source=source, deadline=deadline,
            description=description, severity=severity, source_ref=source_ref, checked_photos=checked,
            written=written, now=now,
        )

    return run_with_files(work)  # type: ignore[no-any-return]


# --- transitions ----------------------------------------------------------------------------------


def _in_scope(actor: Any, case: Case) -> bool:
    return path_in_scope(actor, case.scope_path)


def _permission_problem(action: str, actor: Any, case: Case) -> str | None:
    """Why the actor may not take the action on the case (None: allowed). Status is checked apart."""
    if actor is None:
        return None
    if action in ("assign", "cancel"):
        if not actor.can(Action.MANAGE_CASES) or not _in_scope(actor, case):
            return _("无权分派或撤销该问题")
        return None
    if action in ("start", "submit"):
        if not actor.can(Action.HANDLE_CASES):
            return _("无权办理问题")
        mine = actor.pk in (case.assignee_id, case.escalated_to_account_id)
        if not mine and not (actor.can(Action.MANAGE_CASES) and _in_scope(actor, case)):
            return _("该问题未分派给您")
        return None
    if action in ("verify", "reject"):
        if not actor.can(Action.VERIFY_CASES) or not _in_scope(actor, case):
            return _("无权核查该问题")
        if actor.pk in (case.submitted_by_id, case.assignee_id):
            return _("整改人不能核查自己提交的整改（交叉复核）")
        return None
    return _("未知的操作：%(action)s") % {"action": action}


def _status_problem(action: str, case: Case) -> str | None:
    allowed_from, _target = TRANSITIONS[action]
    if case.status in allowed_from:
        return None
    return (
        _("问题当前状态为“%(status)s”，不能%(action)s")
        % {"status": case.get_status_display(), "action": _(ACTION_LABELS[action])}
    )


def allowed_actions(*, actor: Any, case: Case) -> list[str]:
    """The actions the actor may take on the case in its current status (for forms and buttons)."""
    return [
        action for action in TRANSITIONS
        if _status_problem(action, case) is None and _permission_problem(action, actor, case) is None
    ]


def _lock(case: Case, expected_version: int) -> Case:
    locked = Case.objects.select_for_update(of=("self",)).select_related("node", "responsible_person").get(pk=case.pk)
    if locked.version != expected_version:
        raise ApplicationError(STALE)
    return locked


def _save(case: Case, expected_version: int, fields: Iterable[str], at: dt.datetime) -> None:
    """Write the changed fields only if nobody changed the case since `expected_version`."""
    values = {name: getattr(case, name) for name in fields}
    updated = Case.objects.filter(pk=case.pk, version=expected_version).update(
        **values, version=F("version") + 1, updated_at=at
    )
    if updated != 1:
        raise ApplicationError(STALE)
    case.version = expected_version + 1


def _transition(
    *, action: str, actor: Any, case: Case, version: int, now: dt.datetime | None,
    apply: Callable[[Case, dt.datetime], tuple[list[str], dict[str, Any]]],
) -> Case:
    """Lock the case, check version, status and permission, apply the change, record the event and audit."""
    at = _moment(now)
    locked = _lock(case, version)
    problem = _status_problem(action, locked) or _permission_problem(action, actor, locked)
    if problem:
        raise ApplicationError(problem)
    before = audit.snapshot(locked)
    from_status = locked.status
    fields, event_args = apply(locked, at)
    locked.status = TRANSITIONS[action][1]
    _save(locked, version, ["status", *fields], at)
    event = _event(locked, kind=event_args.pop("kind"), actor=actor, at=at, from_status=from_status,
                   to_status=locked.status, **event_args)
    locked._last_event = event  # type: ignore[attr-defined]
    old, new = audit.changed(before, audit.snapshot(locked))
    audit.record(actor=actor, action=AuditAction.UPDATE, instance=locked, before=old, after=new,
                 reason=ACTION_LABELS[action])
    return locked


def case_assign(
    *, actor: Any, case: Case, version: int, person: Any | None = None, note: str = "", now: dt.datetime | None = None,
) -> Case:
    """Assign (or re-assign) a case to a person — or, with `person=None`, route it again to the node's
    current responsible person. Clears the triage flag."""
    at_day = timezone.localdate(_moment(now))

    def apply(locked: Case, at: dt.datetime) -> tuple[list[str], dict[str, Any]]:
        target = person
        if target is None:
            routing = route_case(locked.node, on=at_day)
            if routing.person is None:
                raise ApplicationError(_("无法自动分派：%(reason)s") % {"reason": routing.reason})
            target = routing.person
        if getattr(target, "deleted_at", None) is not None:
            raise ApplicationError(_("该人员已删除，不能分派"))
        locked.responsible_person = target
        locked.assignee = account_of(target)
        locked.needs_triage = False
        locked.triage_reason = ""
        return (
            ["responsible_person", "assignee", "needs_triage", "triage_reason"],
            {"kind": CaseEventKind.ASSIGN, "person": target, "note": note.strip() or _("分派给 %(name)s") % {"name": target.name}},
        )

    with transaction.atomic():
        return _transition(action="assign", actor=actor, case=case, version=version, now=now, apply=apply)


def case_start(*, actor: Any, case: Case, version: int, note: str = "", now: dt.datetime | None = None) -> Case:
    """The responsible person starts fixing the case."""

    def apply(locked: Case, at: dt.datetime) -> tuple[list[str], dict[str, Any]]:
        locked.started_at = locked.started_at or at
        return ["started_at"], {"kind": CaseEventKind.START, "note": note.strip()}

    with transaction.atomic():
        return _transition(action="start", actor=actor, case=case, version=version, now=now, apply=apply)


def case_submit(
    *, actor: Any, case: Case, version: int, note: str, photos_in: Iterable[Any],
    lon: float | None = None, lat: float | None = None, now: dt.datetime | None = None,
) -> Case:
    """Submit the fix for verification with at least one after-photo (time of upload kept, place if given)."""
    checked = photos.check_uploads(photos_in)
    if not checked:
        raise ApplicationError(_("提交整改须上传至少一张整改后照片"))
    photos.check_coordinates(lon, lat)

    def work(written: list[str]) -> Case:
        def apply(locked: Case, at: dt.datetime) -> tuple[list[str], dict[str, Any]]:
            locked.submitted_at = at
            locked.submitted_by = actor
            return ["submitted_at", "submitted_by"], {"kind": CaseEventKind.SUBMIT, "note": note.strip()}

        locked = _transition(action="submit", actor=actor, case=case, version=version, now=now, apply=apply)
        store_photos(checked, kind=EvidenceKind.AFTER, actor=actor, at=locked.submitted_at or _moment(now),
                      scope_path=locked.scope_path, written=written, case=locked,
                      event=locked._last_event, lon=lon, lat=lat, note=note)  # type: ignore[attr-defined]
        return locked

    return run_with_files(work)  # type: ignore[no-any-return]


def case_verify(*, actor: Any, case: Case, version: int, note: str = "", now: dt.datetime | None = None) -> Case:
    """A different account confirms the fix: the case is closed (销号), on time if by the deadline."""

    def apply(locked: Case, at: dt.datetime) -> tuple[list[str], dict[str, Any]]:
        locked.verified_by = actor
        locked.closed_at = at
        locked.closed_on_time = timezone.localdate(at) <= locked.deadline
        return ["verified_by", "closed_at", "closed_on_time"], {"kind": CaseEventKind.VERIFY, "note": note.strip()}

    with transaction.atomic():
        locked = _transition(action="verify", actor=actor, case=case, version=version, now=now, apply=apply)
        _notify_cases(locked.node_id, [_local_day(locked.opened_at), locked.deadline, _local_day(locked.closed_at)])
    return locked


def case_reject(*, actor: Any, case: Case, version: int, reason: str, now: dt.datetime | None = None) -> Case:
    """A verifier sends the fix back: the case returns to in progress (返工) with the reason."""
    if not reason.strip():
        raise ApplicationError(_("请填写退回原因"))

    def apply(locked: Case, at: dt.datetime) -> tuple[list[str], dict[str, Any]]:
        locked.rejection_count += 1
        return ["rejection_count"], {"kind": CaseEventKind.REJECT, "note": reason.strip()}

    with transaction.atomic():
        return _transition(action="reject", actor=actor, case=case, version=version, now=now, apply=apply)


def case_cancel(*, actor: Any, case: Case, version: int, reason: str, now: dt.datetime | None = None) -> Case:
    """Cancel a case that is not a real problem (or a duplicate), with the reason."""
    if not reason.strip():
        raise ApplicationError(_("请填写撤销原因"))

    def apply(locked: Case, at: dt.datetime) -> tuple[list[str], dict[str, Any]]:
        locked.cancelled_reason = reason.strip()[:200]
        locked.needs_triage = False
        return ["cancelled_reason", "needs_triage"], {"kind": CaseEventKind.CANCEL, "note": reason.strip()}

    with transaction.atomic():
        locked = _transition(action="cancel", actor=actor, case=case, version=version, now=now, apply=apply)
        _notify_cases(locked.node_id, [_local_day(locked.opened_at), locked.deadline])
    return locked


@dataclass(frozen=True)
class BulkResult:
    assigned: list[int]
    skipped: dict[int, str]  # case id -> reason


def cases_bulk_assign(
    *, actor: Any, cases: Sequence[Case], person: Any | None, note: str = "", now: dt.datetime | None = None,
) -> BulkResult:
    """Assign several cases at once (each at its current version, locked in id order); cases that
    cannot be assigned are skipped with the reason, the others are assigned in one transaction."""
    if actor is not None and not actor.can(Action.MANAGE_CASES):
        raise ApplicationError(_("无权分派问题"))
    assigned: list[int] = []
    skipped: dict[int, str] = {}
    with transaction.atomic():
        locked = list(Case.objects.select_for_update().filter(pk__in=[case.pk for case in cases]).order_by("pk"))
        for case in locked:
            try:
                with transaction.atomic():
                    case_assign(actor=actor, case=case, version=case.version, person=person, note=note, now=now)
            except ApplicationError as exc:
                skipped[case.pk] = exc.message
            else:
                assigned.append(case.pk)
    return BulkResult(assigned, skipped)


# --- escalation -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class EscalationSummary:
    overdue: int  # active overdue cases looked at
    escalated: int  # cases raised at least one level
    topped: int  # cases that reached the top of their chain in this run


def target_level(*, deadline: dt.date, today: dt.date, step_days: int) -> int:
    """Escalation level an overdue case should have: 1 for days 1..N overdue, 2 for N+1..2N, …"""
    days = (today - deadline).days
    return 0 if days <= 0 else 1 + (days - 1) // step_days


def _escalate_one(case_id: int, *, at: dt.datetime, today: dt.date, step: int) -> tuple[bool, bool]:
    with transaction.atomic():
        case = Case.objects.select_for_update(of=("self",)).select_related("node").filter(pk=case_id).first()
        if case is None or case.status not in OVERDUE_STATUSES or case.escalation_exhausted:
            return False, False
        wanted = target_level(deadline=case.deadline, today=today, step_days=step)
        if case.escalation_level >= wanted:
            return False, False
        version = case.version
        before = audit.snapshot(case)
        targets = escalation_targets(case.node, on=today, exclude_person_id=case.responsible_person_id)
        raised = topped = False
        while case.escalation_level < wanted:
            level = case.escalation_level + 1
            if level > len(targets):
                case.escalation_exhausted = True
                topped = True
                _event(case, kind=CaseEventKind.ESCALATION_TOP, actor=None, at=at, from_status=case.status,
                       to_status=case.status, level=case.escalation_level,
                       note=_("逾期 %(days)s 天，责任链已到最高层级，保持督办并标记")
                            % {"days": (today - case.deadline).days})
                break
            target = targets[level - 1]
            case.escalation_level = level
            case.escalated_to_person = target.person
            case.escalated_to_account = account_of(target.person)
            case.escalated_at = at
            raised = True
            _event(case, kind=CaseEventKind.ESCALATE, actor=None, at=at, from_status=case.status,
                   to_status=case.status, person=target.person, level=level,
                   note=_("逾期 %(days)s 天，升级至%(role)s %(name)s") % {
                       "days": (today - case.deadline).days, "role": target.get_role_display(), "name": target.person.name,
                   })
        _save(case, version, ["escalation_level", "escalated_to_person", "escalated_to_account", "escalated_at",
                              "escalation_exhausted"], at)
        old, new = audit.changed(before, audit.snapshot(case))
        audit.record(actor=None, action=AuditAction.UPDATE, instance=case, before=old, after=new, reason="逾期升级督办")
        return raised, topped


def cases_escalate_overdue(*, now: dt.datetime | None = None) -> EscalationSummary:
    """Raise every overdue active case to the level its lateness calls for (one level per N days
    overdue, N = escalation_step_days()), up the node's responsibility chain. Idempotent: a case
    already at its level is left alone, so running twice in one period escalates once. A case
    whose chain has no one further up stays at its level and is flagged (escalation_exhausted)."""
    at = _moment(now)
    today = timezone.localdate(at)
    step = escalation_step_days()
    ids = list(
        Case.objects.filter(status__in=OVERDUE_STATUSES, deadline__lt=today, escalation_exhausted=False)
        .order_by("pk").values_list("pk", flat=True)
    )
    escalated = topped = 0
    for case_id in ids:
        raised, top = _escalate_one(case_id, at=at, today=today, step=step)
        escalated += int(raised)
        topped += int(top)
    return EscalationSummary(overdue=len(ids), escalated=escalated, topped=topped)
