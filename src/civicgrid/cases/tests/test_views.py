"""Cases pages: queues (scope, filters, query budgets), the case page and its action forms (start,
submit with a photo, verify by someone else, stale version), bulk assignment, export, evidence,
inspections recorded through the pages, standards import/publish/export/copy, CSRF."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from civicgrid.accounts.roles import Role
from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseStatus, Inspection, InspectionStatus, Standard, VersionStatus
from civicgrid.cases.standards import standard_version_export
from civicgrid.cases.tests.factories import photo, published_standard
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def open_case(node, *, deadline=None, title="斑马线前未礼让行人", category="路口秩序") -> Case:
    return services.case_open(actor=None, node=node, title=title, category=category,
                              deadline=deadline or timezone.localdate() + dt.timedelta(days=5))


def rows(response) -> list[str]:
    return re.findall(r'<a href="/cases/(\d+)/">#\d+</a>', response.content.decode())


def test_my_queue_holds_what_is_assigned_or_escalated_to_me(grid, world):
    mine = open_case(grid.post)
    vacant = open_case(grid.vacant_post)
    escalated = open_case(grid.vacant_post, title="护栏缺失")
    Case.objects.filter(pk=escalated.pk).update(escalated_to_account=grid.officer_user, escalation_level=1)
    response = client_for(grid.officer_user).get(reverse("cases:my"))
    assert response.status_code == 200
    assert sorted(rows(response)) == sorted([str(mine.pk), str(escalated.pk)])
    area = client_for(grid.line_leader_user).get(reverse("cases:area"))
    assert sorted(rows(area)) == sorted(str(c.pk) for c in (mine, vacant, escalated))
    triage = client_for(grid.line_leader_user).get(reverse("cases:triage"))
    assert sorted(rows(triage)) == sorted([str(vacant.pk), str(escalated.pk)])


def test_an_assignee_outside_the_granted_subtree_still_sees_their_case(grid, world):
    elsewhere = factories.user_with_scope(Role.OFFICER, world.town_b, username="elsewhere")
    case = open_case(grid.post)
    Case.objects.filter(pk=case.pk).update(assignee=elsewhere)
    client = client_for(elsewhere)
    assert rows(client.get(reverse("cases:my"))) == [str(case.pk)]
    assert client.get(reverse("cases:detail", args=[case.pk])).status_code == 200
    other = open_case(grid.post)
    assert client.get(reverse("cases:detail", args=[other.pk])).status_code == 404


def test_filters_and_overdue(grid, world):
    late = open_case(grid.post, title="信号灯故障", category="交通设施")
    Case.objects.filter(pk=late.pk).update(deadline=timezone.localdate() - dt.timedelta(days=4))
    fresh = open_case(grid.post)
    client = client_for(grid.line_leader_user)
    assert rows(client.get(reverse("cases:area"), {"category": "交通设施"})) == [str(late.pk)]
    assert rows(client.get(reverse("cases:area"), {"overdue": "on"})) == [str(late.pk)]
    assert rows(client.get(reverse("cases:overdue"))) == [str(late.pk)]
    assert rows(client.get(reverse("cases:area"), {"q": "斑马线"})) == [str(fresh.pk)]
    admin = client_for(grid.admin)
    assert sorted(rows(admin.get(reverse("cases:area"), {"node": grid.line.pk}))) == sorted([str(late.pk), str(fresh.pk)])
    assert rows(admin.get(reverse("cases:area"), {"node": world.town_a.pk})) == []
    assert "逾期 4 天" in client.get(reverse("cases:overdue")).content.decode()
    # an invalid filter value is ignored rather than failing the page
    assert client.get(reverse("cases:area"), {"status": "nonsense", "node": "x"}).status_code == 200


def test_queue_pages_keep_a_query_budget(grid, django_assert_max_num_queries):
    for number in range(30):
        open_case(grid.post if number % 2 else grid.vacant_post, title=f"问题{number}")
    client = client_for(grid.line_leader_user)
    for name in ("cases:my", "cases:area", "cases:overdue", "cases:triage"):
        with django_assert_max_num_queries(15):
            assert client.get(reverse(name)).status_code == 200


def test_the_loop_through_the_pages(grid):
    case = open_case(grid.post)
    officer = client_for(grid.officer_user)
    page = officer.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert f'action="/cases/{case.pk}/start/"' in page
    assert f'action="/cases/{case.pk}/verify/"' not in page
    response = officer.post(reverse("cases:start", args=[case.pk]), {"start-version": 1, "start-note": "已到场"})
    assert response.status_code == 302
    response = officer.post(reverse("cases:submit", args=[case.pk]), {
        "submit-version": 2, "submit-note": "已整改", "submit-photos": [photo(), photo("二.png")],
        "submit-lon": "116.042", "submit-lat": "36.456",
    })
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.evidence.count()) == (CaseStatus.SUBMITTED, 2)
    # the one who fixed it sees no verify form; another account verifies
    assert "/verify/" not in officer.get(reverse("cases:detail", args=[case.pk])).content.decode()
    leader = client_for(grid.line_leader_user)
    assert leader.post(reverse("cases:verify", args=[case.pk]), {"verify-version": 3}).status_code == 302
    case.refresh_from_db()
    assert (case.status, case.closed_on_time) == (CaseStatus.CLOSED, True)
    page = leader.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert page.count('class="photo"') == 2
    assert "核查通过销号" in page


def test_a_stale_form_is_refused_with_the_message(grid):
    case = open_case(grid.post)
    services.case_start(actor=grid.officer_user, case=case, version=1)
    response = client_for(grid.line_leader_user).post(
        reverse("cases:cancel", args=[case.pk]), {"cancel-version": 1, "cancel-reason": "误报"}
    )
    assert response.status_code == 400
    assert "该问题已被他人修改，请刷新后重试" in response.content.decode()
    assert Case.objects.get(pk=case.pk).status == CaseStatus.IN_PROGRESS


def test_submit_with_a_file_that_is_no_image_is_refused(grid):
    case = open_case(grid.post)
    services.case_start(actor=grid.officer_user, case=case, version=1)
    fake = SimpleUploadedFile("整改.jpg", b"%PDF-1.7 not an image", content_type="image/jpeg")
    response = client_for(grid.officer_user).post(reverse("cases:submit", args=[case.pk]),
                                                  {"submit-version": 2, "submit-photos": [fake]})
    assert response.status_code == 400
    assert "上传的文件不是图片" in response.content.decode()


def test_bulk_assign_and_create(grid):
    first, second = open_case(grid.vacant_post), open_case(grid.vacant_post)
    client = client_for(grid.line_leader_user)
    response = client.post(reverse("cases:bulk_assign"), {"cases": [first.pk, second.pk],
                                                          "person": grid.auxiliary.pk, "queue": "triage"})
    assert response.status_code == 302
    assert response["Location"] == reverse("cases:triage")
    assert set(Case.objects.values_list("responsible_person", flat=True)) == {grid.auxiliary.pk}
    response = client.post(reverse("cases:create"), {
        "node": grid.post.pk, "title": "路口积水", "category": "市容环境", "severity": "low", "source": "citizen_report",
        "deadline": (timezone.localdate() + dt.timedelta(days=3)).isoformat(), "description": "群众电话反映",
    })
    created = Case.objects.get(title="路口积水")
    assert response["Location"] == reverse("cases:detail", args=[created.pk])
    assert (created.source, created.responsible_person) == ("citizen_report", grid.officer)
    past = client.post(reverse("cases:create"), {
        "node": grid.post.pk, "title": "x", "category": "y", "severity": "low", "source": "manual",
        "deadline": "2020-01-01",
    })
    assert past.status_code == 400
    assert "已过，不能早于今天" in past.content.decode()


def test_export_is_scoped_and_audited(grid, world):
    case = open_case(grid.post)
    services.case_open(actor=None, node=world.village_b, title="前寨村的问题", category="其他",
                       deadline=timezone.localdate())
    response = client_for(grid.line_leader_user).get(reverse("cases:export"), {"queue": "area"})
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.iter_rows(values_only=True))
    assert values[0][:4] == ("编号", "网格", "网格编码", "问题")
    assert [row[0] for row in values[1:]] == [case.pk]
    event = AuditEvent.objects.get(action=AuditAction.EXPORT, object_type="cases.case")
    assert (event.actor, event.after["rows"], event.after["queue"]) == (grid.line_leader_user, 1, "area")


def test_export_and_timeline_in_english(grid, world, settings):
    case = open_case(grid.post)  # opened and routed by the system, in the default language
    client = client_for(grid.line_leader_user)
    assert "· 系统" in client.get(reverse("cases:detail", args=[case.pk])).content.decode()

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get(reverse("cases:export"), {"queue": "area"})
    book = load_workbook(io.BytesIO(response.content))
    values = list(book.active.iter_rows(values_only=True))
    assert book.sheetnames == ["Cases in my area"]
    assert values[0] == (
        "No.", "Grid", "Grid code", "Case", "Category", "Source", "Severity", "Status", "Rectification deadline",
        "Days overdue", "Responsible person", "Needs triage", "Escalation level", "Escalated to (person)",
        "Registered at", "Closed at", "Rectified on time",
    )
    assert values[1][11] == "No"  # needs triage
    page = client.get(reverse("cases:detail", args=[case.pk])).content.decode()
    assert "· System" in page
    assert "· 系统" not in page


def test_evidence_is_served_only_in_scope(grid, world):
    case = open_case(grid.post)
    services.case_start(actor=grid.officer_user, case=case, version=1)
    services.case_submit(actor=grid.officer_user, case=case, version=2, note="", photos_in=[photo()])
    evidence = case.evidence.get()
    response = client_for(grid.line_leader_user).get(reverse("cases:evidence", args=[evidence.pk]))
    assert (response.status_code, response["Content-Type"]) == (200, "image/png")
    assert b"".join(response.streaming_content).startswith(b"\x89PNG")
    outsider = factories.user_with_scope(Role.SQUAD_LEADER, world.town_b, username="outsider")
    assert client_for(outsider).get(reverse("cases:evidence", args=[evidence.pk])).status_code == 404


def test_inspection_through_the_pages(grid):
    version = published_standard()
    client = client_for(grid.inspector)
    response = client.post(reverse("cases:inspection_create"), {
        "version": version.pk, "node": grid.zone.pk, "inspected_on": timezone.localdate().isoformat()})
    assert response.status_code == 400
    assert "不适用于“片”类节点" in response.content.decode()
    response = client.post(reverse("cases:inspection_create"), {
        "version": version.pk, "node": grid.post.pk, "inspected_on": timezone.localdate().isoformat()})
    inspection = Inspection.objects.get()
    assert response["Location"] == reverse("cases:inspection_record", args=[inspection.pk])
    items = {item.code: item for item in version.items.all()}
    record = reverse("cases:inspection_record", args=[inspection.pk])
    answers = [
        {"item": items["1.1"].pk, "outcome": "fail", "note": "未礼让", "photos": [photo()]},
        {"item": items["1.2"].pk, "outcome": "pass"},
        {"item": items["2.1"].pk, "points": "10"},
        {"item": items["2.2"].pk, "measured": "98.5"},
    ]
    for answer in answers:
        assert client.post(record, answer).status_code == 302
    bad = client.post(record, {"item": items["2.1"].pk, "points": "12"})
    assert bad.status_code == 400
    page = client.get(record).content.decode()
    assert page.count("result-form") == 4
    response = client.post(reverse("cases:inspection_complete", args=[inspection.pk]), {
        "deadline": (timezone.localdate() + dt.timedelta(days=2)).isoformat(), "severity": "high"})
    assert response["Location"] == reverse("cases:inspection", args=[inspection.pk])
    inspection.refresh_from_db()
    assert (inspection.status, inspection.items_failed) == (InspectionStatus.COMPLETED, 1)
    case = Case.objects.get()
    assert (case.severity, case.responsible_person, case.evidence.count()) == ("high", grid.officer, 1)
    detail = client.get(reverse("cases:inspection", args=[inspection.pk])).content.decode()
    assert f'href="/cases/{case.pk}/"' in detail
    assert client.get(reverse("cases:inspections")).status_code == 200


def test_standards_pages(grid):
    version = published_standard()
    admin = client_for(grid.admin)
    listing = admin.get(reverse("cases:standards")).content.decode()
    assert "WMJT-LK" in listing
    assert "从 Excel 导入新版本" in listing
    assert "从 Excel 导入新版本" not in client_for(grid.inspector).get(reverse("cases:standards")).content.decode()
    content = standard_version_export(actor=None, version=version)
    response = admin.post(reverse("cases:standard_import"), {
        "code": "WMJT-LK", "effective_from": "2026-07-01", "file": SimpleUploadedFile("新版.xlsx", content)})
    assert response["Location"] == reverse("cases:standard_version", args=["WMJT-LK", 2])
    published = admin.post(reverse("cases:standard_publish", args=["WMJT-LK", 2]))
    assert published.status_code == 302
    assert Standard.objects.get().versions.get(number=2).status == VersionStatus.PUBLISHED
    again = admin.post(reverse("cases:standard_publish", args=["WMJT-LK", 2]))
    assert again.status_code == 400
    copied = admin.post(reverse("cases:standard_copy", args=["WMJT-LK", 1]), {"effective_from": "2026-08-01"})
    assert copied["Location"] == reverse("cases:standard_version", args=["WMJT-LK", 3])
    export = admin.get(reverse("cases:standard_export", args=["WMJT-LK", 1]))
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    bad = admin.post(reverse("cases:standard_import"), {
        "code": "WMJT-LK", "effective_from": "2026-07-01", "file": SimpleUploadedFile("坏.xlsx", b"not a workbook")})
    assert bad.status_code == 400
    assert "未找到可识别的列" in bad.content.decode() or "缺少必需的列" in bad.content.decode()
    assert admin.get(reverse("cases:standard_version", args=["NOPE", 1])).status_code == 404


def test_posts_need_the_csrf_token(grid):
    case = open_case(grid.post)
    client = Client(enforce_csrf_checks=True)
    client.force_login(grid.officer_user)
    response = client.post(reverse("cases:start", args=[case.pk]), {"start-version": 1})
    assert response.status_code == 403
    assert Case.objects.get(pk=case.pk).status == CaseStatus.ASSIGNED


def test_pages_carry_no_inline_script_or_style(grid):
    case = open_case(grid.post)
    client = client_for(grid.admin)
    for url in (reverse("cases:area"), reverse("cases:detail", args=[case.pk]), reverse("cases:standards")):
        html = client.get(url).content.decode()
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
        assert re.findall(r"\sstyle=\"", html) == []
        assert "<style" not in html
