"""Writes on inspections: apply a published standard version to a node in scope, record each item's
result with evidence, and complete it — the score is computed and every failed item becomes a case
routed to the node's responsible person (问题 → 整改)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from civicgrid.accounts.roles import Action
from civicgrid.cases import evidence as photos
from civicgrid.cases.models import (
    CaseSource,
    EvidenceKind,
    Inspection,
    InspectionResult,
    InspectionStatus,
    Severity,
    StandardItem,
    StandardVersion,
)
from civicgrid.cases.scoring import ItemScore, score_item, totals
from civicgrid.cases.services import notify_indicators, open_case, run_with_files, store_photos
from civicgrid.core import audit
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction
from civicgrid.territory.models import Node, NodeKind
from civicgrid.territory.scoping import path_in_scope

DEFAULT_DEADLINE_DAYS = 7


def default_deadline_days() -> int:
    """Days from completion to the deadline of a finding (setting CIVICGRID_CASE_DEADLINE_DAYS, default 7)."""
    return max(0, int(getattr(settings, "CIVICGRID_CASE_DEADLINE_DAYS", DEFAULT_DEADLINE_DAYS)))


def applicable_items(version: StandardVersion, kind: str) -> list[StandardItem]:
    """The version's items checked at nodes of a kind, in checklist order."""
    return [item for item in version.items.select_related("section").order_by("order") if item.applies_to_kind(kind)]


def _kinds_of(version: StandardVersion) -> list[str]:
    kinds: list[str] = []
    for applies in version.items.values_list("applies_to", flat=True):
        kinds.extend(kind for kind in applies if kind not in kinds)
    return kinds


def _check_inspector(actor: Any, node: Node) -> None:
    if actor is None:
        return
    if not actor.can(Action.INSPECT):
        raise ApplicationError(_("无权开展测评检查"))
    if not path_in_scope(actor, node.path):
        raise ApplicationError(_("该网格不在您的数据范围内"))


def inspection_create(
    *, actor: Any, version: StandardVersion, node: Node, inspected_on: dt.date, note: str = "",
    now: dt.datetime | None = None,
) -> Inspection:
    """Start an inspection of a node in scope against a published version in force on the day."""
    _check_inspector(actor, node)
    at = now or timezone.now()
    if not version.is_published:
        raise ApplicationError(_("%(version)s 尚未发布，不能用于检查") % {"version": version})
    if inspected_on > timezone.localdate(at):
        raise ApplicationError(_("检查日期不能晚于今天"))
    if inspected_on < version.effective_from:
        raise ApplicationError(
            _("%(version)s 自 %(effective_from)s 起生效，检查日期早于生效日期")
            % {"version": version, "effective_from": f"{version.effective_from:%Y-%m-%d}"}
        )
    if not node.is_active:
        raise ApplicationError(_("该网格已停用"))
    if not applicable_items(version, node.kind):
        labels = dict(NodeKind.choices)
        kinds = "、".join(str(labels.get(kind, kind)) for kind in _kinds_of(version)) or _("（无）")
        raise ApplicationError(
            _("“%(standard)s”不适用于“%(kind)s”类节点“%(node)s”，适用类型：%(kinds)s")
            % {"standard": version.standard.name, "kind": node.get_kind_display(), "node": node.name, "kinds": kinds}
        )
    inspector = actor
    if inspector is None:
        raise ApplicationError(_("检查须有检查人"))
    with transaction.atomic():
        inspection = Inspection.objects.create(
            version=version, node=node, scope_path=node.path, inspected_on=inspected_on, inspector=inspector,
            note=note.strip()[:500], created_at=at,
        )
        audit.record(actor=actor, action=AuditAction.CREATE, instance=inspection, after=audit.snapshot(inspection))
    return inspection


def _check_recorder(actor: Any, inspection: Inspection) -> None:
    if actor is None:
        return
    if not actor.can(Action.INSPECT) or not path_in_scope(actor, inspection.scope_path):
        raise ApplicationError(_("无权记录该检查"))


def inspection_record_result(
    *,
    actor: Any,
    inspection: Inspection,
    item: StandardItem,
    passed: bool | None = None,
    points: Decimal | None = None,
    measured: Decimal | None = None,
    not_applicable: bool = False,
    note: str = "",
    lon: float | None = None,
    lat: float | None = None,
    photos_in: Iterable[Any] = (),
    now: dt.datetime | None = None,
) -> InspectionResult:
    """Record (or correct) one item's result with its evidence while the inspection is open."""
    _check_recorder(actor, inspection)
    photos.check_coordinates(lon, lat)
    checked = photos.check_uploads(photos_in)
    at = now or timezone.now()

    def work(written: list[str]) -> InspectionResult:
        locked = Inspection.objects.select_for_update(of=("self",)).select_related("node").get(pk=inspection.pk)
        if locked.status != InspectionStatus.RECORDING:
            raise ApplicationError(_("检查已完成，结果不能再修改"))
        if item.version_id != locked.version_id or not item.applies_to_kind(locked.node.kind):
            raise ApplicationError(_("%(code)s 不是本次检查的项目") % {"code": item.code})
        score = score_item(item, passed=passed, points=points, measured=measured, not_applicable=not_applicable)
        result = InspectionResult.objects.filter(inspection=locked, item=item).first()
        before = audit.snapshot(result) if result is not None else None
        result = result or InspectionResult(inspection=locked, item=item)
        result.not_applicable = score.not_applicable
        result.passed = score.passed
        result.measured_value = score.measured
        result.points_awarded = score.awarded
        result.points_max = score.maximum
        result.note = note.strip()[:500]
        result.lon, result.lat = lon, lat
        result.recorded_at = at
        result.recorded_by = actor
        result.save()
        if checked:
            store_photos(checked, kind=EvidenceKind.BEFORE, actor=actor, at=at, scope_path=locked.scope_path,
                          written=written, result=result, lon=lon, lat=lat, note=note)
        if before is None:
            audit.record(actor=actor, action=AuditAction.CREATE, instance=result, scope_path=locked.scope_path,
                         after=audit.snapshot(result))
        else:
            old, new = audit.changed(before, audit.snapshot(result))
            audit.record(actor=actor, action=AuditAction.UPDATE, instance=result, scope_path=locked.scope_path,
                         before=old, after=new)
        return result

    return run_with_files(work)  # type: ignore[no-any-return]


def inspection_complete(
    *, actor: Any, inspection: Inspection, deadline: dt.date | None = None, severity: str = Severity.MEDIUM,
    now: dt.datetime | None = None,
) -> Inspection:
    """Close the inspection: every applicable item needs a result; the score is computed and each
    failed item opens a case (deadline default: completion day + default_deadline_days())."""
    _check_recorder(actor, inspection)
    at = now or timezone.now()
    today = timezone.localdate(at)
    deadline = deadline or today + dt.timedelta(days=default_deadline_days())
    if deadline < today:
        raise ApplicationError(
            _("整改期限 %(deadline)s 已过，不能早于今天 %(today)s")
            % {"deadline": f"{deadline:%Y-%m-%d}", "today": f"{today:%Y-%m-%d}"}
        )
    with transaction.atomic():
        locked = Inspection.objects.select_for_update(of=("self",)).select_related("node", "version__standard").get(
            pk=inspection.pk
        )
        if locked.status != InspectionStatus.RECORDING:
            raise ApplicationError(_("检查已完成"))
        items = applicable_items(locked.version, locked.node.kind)
        results = {
            result.item_id: result
            for result in InspectionResult.objects.filter(inspection=locked).select_related("item__section")
        }
        missing = [item.code for item in items if item.pk not in results]
        if missing:
            raise ApplicationError(
                _("还有 %(count)s 项未记录结果：%(codes)s") % {"count": len(missing), "codes": "、".join(missing[:15])}
            )
        scores = [
            score_item(item, not_applicable=True) if results[item.pk].not_applicable else _stored(results[item.pk])
            for item in items
        ]
        summary = totals(scores)
        locked.status = InspectionStatus.COMPLETED
        locked.completed_at = at
        locked.score_achieved = summary.achieved
        locked.score_max = summary.maximum
        locked.score_percent = summary.percent
        locked.items_checked = summary.checked
        locked.items_passed = summary.passed
        locked.items_failed = summary.failed
        locked.items_not_applicable = summary.not_applicable
        locked.save()
        for item in items:
            result = results[item.pk]
            if result.passed is not False:
                continue
            checked = _("检查项目 %(code)s：%(criteria)s") % {"code": item.code, "criteria": item.criteria}
            open_case(
                actor=actor, node=locked.node, title=item.title, category=item.section.title,
                source=CaseSource.INSPECTION, source_ref=f"inspection:{locked.pk}/item:{item.code}",
                inspection_result=result, deadline=deadline, severity=severity, now=at,
                description="\n".join(part for part in (result.note, checked) if part),
                before_evidence=list(result.evidence.all()),
            )
        audit.record(
            actor=actor, action=AuditAction.UPDATE, instance=locked, reason="完成测评检查",
            after={"status": "completed", "score": str(summary.achieved), "max": str(summary.maximum),
                   "passed": summary.passed, "failed": summary.failed},
        )
        notify_indicators("cases.inspection", locked.node_id, [locked.inspected_on])
    return locked


def _stored(result: InspectionResult) -> ItemScore:
    return ItemScore(passed=result.passed, awarded=result.points_awarded, maximum=result.points_max,
                     measured=result.measured_value)
