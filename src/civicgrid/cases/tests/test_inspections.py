"""Inspections: a published version applied to a node of a kind it covers, results per item with
photos, the score, and findings that open routed cases."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.cases.inspections import inspection_complete, inspection_create, inspection_record_result
from civicgrid.cases.models import (
    Case,
    CaseSource,
    CaseStatus,
    Evidence,
    EvidenceKind,
    InspectionResult,
    InspectionStatus,
    StandardItem,
)
from civicgrid.cases.standards import standard_version_create
from civicgrid.cases.tests.factories import photo, published_standard, traffic_items
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(dt.datetime(2026, 5, 20, 9, 0))
TODAY = NOW.date()


@pytest.fixture
def version():
    return published_standard()


def items(version) -> dict[str, StandardItem]:
    return {item.code: item for item in version.items.all()}


def test_a_node_of_a_kind_the_standard_does_not_cover_is_refused(grid, version):
    with pytest.raises(ApplicationError) as caught:
        inspection_create(actor=grid.inspector, version=version, node=grid.zone, inspected_on=TODAY, now=NOW)
    assert caught.value.message == "“文明交通路口测评”不适用于“片”类节点“东昌东路片区”，适用类型：点段、线"


def test_only_published_versions_in_force_and_nodes_in_scope(grid, world, version):
    draft = standard_version_create(actor=None, code="WMJT-LK", effective_from=TODAY, items=traffic_items())
    with pytest.raises(ApplicationError, match="尚未发布"):
        inspection_create(actor=grid.inspector, version=draft, node=grid.post, inspected_on=TODAY, now=NOW)
    with pytest.raises(ApplicationError, match="检查日期不能晚于今天"):
        inspection_create(actor=grid.inspector, version=version, node=grid.post, inspected_on=TODAY + dt.timedelta(1),
                          now=NOW)
    with pytest.raises(ApplicationError, match="检查日期早于生效日期"):
        inspection_create(actor=grid.inspector, version=version, node=grid.post, inspected_on=dt.date(2023, 12, 31),
                          now=NOW)
    with pytest.raises(ApplicationError, match="不在您的数据范围内"):
        inspection_create(actor=grid.inspector, version=version, node=world.village_b, inspected_on=TODAY, now=NOW)
    cadre = factories.user_with_scope(Role.VILLAGE_CADRE, world.district, username="cadre")
    with pytest.raises(ApplicationError, match="无权开展测评检查"):
        inspection_create(actor=cadre, version=version, node=grid.post, inspected_on=TODAY, now=NOW)


def test_record_score_and_findings_become_routed_cases(grid, version):
    inspection = inspection_create(actor=grid.inspector, version=version, node=grid.post, inspected_on=TODAY, now=NOW)
    by_code = items(version)
    failed = inspection_record_result(
        actor=grid.inspector, inspection=inspection, item=by_code["1.1"], passed=False, note="出租车未礼让",
        lon=116.042, lat=36.456, photos_in=[photo(), photo("第二张.png")], now=NOW,
    )
    inspection_record_result(actor=grid.inspector, inspection=inspection, item=by_code["1.2"], not_applicable=True,
                             now=NOW)
    inspection_record_result(actor=grid.inspector, inspection=inspection, item=by_code["2.1"], points=Decimal("6"),
                             note="停止线磨损", now=NOW)
    with pytest.raises(ApplicationError, match="还有 1 项未记录结果：2.2"):
        inspection_complete(actor=grid.inspector, inspection=inspection, now=NOW)
    # A result may be corrected while the inspection is open.
    inspection_record_result(actor=grid.inspector, inspection=inspection, item=by_code["2.2"],
                             measured=Decimal("97.5"), now=NOW)
    inspection_record_result(actor=grid.inspector, inspection=inspection, item=by_code["2.2"],
                             measured=Decimal("98.2"), now=NOW)
    assert InspectionResult.objects.filter(inspection=inspection).count() == 4
    photos = list(Evidence.objects.filter(inspection_result=failed))
    assert [(p.kind, p.lon, p.lat, p.uploaded_at) for p in photos] == [(EvidenceKind.BEFORE, 116.042, 36.456, NOW)] * 2

    inspection = inspection_complete(actor=grid.inspector, inspection=inspection, now=NOW)
    assert (inspection.status, inspection.score_achieved, inspection.score_max, inspection.score_percent) == (
        InspectionStatus.COMPLETED, Decimal("16"), Decimal("30"), Decimal("53.3")
    )
    assert (inspection.items_checked, inspection.items_passed, inspection.items_failed,
            inspection.items_not_applicable, inspection.pass_rate) == (3, 1, 2, 1, 33.3)

    cases = list(Case.objects.order_by("pk"))
    assert [(c.title, c.category, c.source, c.status, c.responsible_person, c.assignee) for c in cases] == [
        ("礼让斑马线", "路口秩序", CaseSource.INSPECTION, CaseStatus.ASSIGNED, grid.officer, grid.officer_user),
        ("标志标线规范清晰", "交通设施", CaseSource.INSPECTION, CaseStatus.ASSIGNED, grid.officer, grid.officer_user),
    ]
    first = cases[0]
    assert (first.deadline, first.source_ref, first.inspection_result) == (
        TODAY + dt.timedelta(days=7), f"inspection:{inspection.pk}/item:1.1", failed
    )
    assert first.description == "出租车未礼让\n检查项目 1.1：机动车在斑马线前减速礼让行人"
    assert set(first.evidence.values_list("pk", flat=True)) == {p.pk for p in photos}  # before-photos
    with pytest.raises(ApplicationError, match="检查已完成"):
        inspection_record_result(actor=grid.inspector, inspection=inspection, item=by_code["1.1"], passed=True)
    with pytest.raises(ApplicationError, match="检查已完成"):
        inspection_complete(actor=grid.inspector, inspection=inspection, now=NOW)
    assert AuditEvent.objects.filter(object_type="cases.inspection", action=AuditAction.UPDATE,
                                     reason="完成测评检查").count() == 1


def test_line_inspection_checks_only_line_items_and_vacant_posts_go_to_triage(grid, version):
    line = inspection_create(actor=grid.inspector, version=version, node=grid.line, inspected_on=TODAY, now=NOW)
    by_code = items(version)
    with pytest.raises(ApplicationError, match="1.1 不是本次检查的项目"):
        inspection_record_result(actor=grid.inspector, inspection=line, item=by_code["1.1"], passed=True)
    inspection_record_result(actor=grid.inspector, inspection=line, item=by_code["1.2"], passed=True)
    inspection_record_result(actor=grid.inspector, inspection=line, item=by_code["2.1"], points=Decimal("10"))
    assert inspection_complete(actor=grid.inspector, inspection=line, now=NOW).score_percent == Decimal("100.0")
    assert Case.objects.count() == 0

    vacant = inspection_create(actor=grid.inspector, version=version, node=grid.vacant_post, inspected_on=TODAY,
                               now=NOW)
    for code, values in (("1.1", {"passed": False}), ("1.2", {"passed": True}), ("2.1", {"points": Decimal("10")}),
                         ("2.2", {"measured": Decimal("99")})):
        inspection_record_result(actor=grid.inspector, inspection=vacant, item=by_code[code], **values)
    inspection_complete(actor=grid.inspector, inspection=vacant, deadline=TODAY + dt.timedelta(days=3), now=NOW)
    case = Case.objects.get()
    assert (case.status, case.needs_triage, case.deadline) == (CaseStatus.OPEN, True, TODAY + dt.timedelta(days=3))


def test_bad_results_and_a_past_deadline_are_refused(grid, version):
    inspection = inspection_create(actor=grid.inspector, version=version, node=grid.post, inspected_on=TODAY, now=NOW)
    by_code = items(version)
    with pytest.raises(ApplicationError, match="得分须在 0 到 10 之间"):
        inspection_record_result(actor=grid.inspector, inspection=inspection, item=by_code["2.1"], points=Decimal("11"))
    with pytest.raises(ApplicationError, match="不是图片"):
        inspection_record_result(actor=grid.inspector, inspection=inspection, item=by_code["1.1"], passed=False,
                                 photos_in=[photo("a.png", b"GIF89a....", "image/png")])
    assert InspectionResult.objects.count() == 0
    with pytest.raises(ApplicationError, match="不能早于今天"):
        inspection_complete(actor=grid.inspector, inspection=inspection, deadline=TODAY - dt.timedelta(days=1), now=NOW)
    outsider = factories.user_with_scope(Role.INSPECTOR, grid.zone.parent, username="other_inspector")
    outsider.role = Role.VILLAGE_CADRE
    outsider.save()
    with pytest.raises(ApplicationError, match="无权记录该检查"):
        inspection_record_result(actor=outsider, inspection=inspection, item=by_code["1.1"], passed=True)
