"""The case life: open (routed or to triage), assign, start, submit with evidence, verify or reject
(交叉复核), cancel; every valid and invalid (status, action) pair; permissions; audit and history."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from django.utils import timezone, translation

from civicgrid.accounts.roles import Role
from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseEventKind, CaseSource, CaseStatus, Evidence, EvidenceKind
from civicgrid.cases.tests.factories import jpeg_header, photo
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db

NOW = timezone.make_aware(dt.datetime(2026, 5, 20, 9, 30))
TODAY = NOW.date()
DEADLINE = dt.date(2026, 5, 27)


def open_at(node, *, deadline=DEADLINE, now=NOW, **kwargs) -> Case:
    return services.case_open(actor=None, node=node, title="斑马线前未礼让行人", category="路口秩序",
                              deadline=deadline, now=now, **kwargs)


def kinds(case: Case) -> list[str]:
    return list(case.events.order_by("at", "pk").values_list("kind", flat=True))


def test_open_routes_to_the_post_officer_with_history_and_audit(grid):
    case = open_at(grid.post, description="早高峰两辆出租车未礼让", severity="high")
    case.refresh_from_db()
    assert (case.status, case.responsible_person, case.assignee, case.needs_triage, case.version) == (
        CaseStatus.ASSIGNED, grid.officer, grid.officer_user, False, 1
    )
    assert (case.scope_path, case.source, case.opened_at, case.deadline) == (grid.post.path, CaseSource.MANUAL, NOW, DEADLINE)
    assert kinds(case) == [CaseEventKind.OPEN, CaseEventKind.ROUTE]
    route = case.events.get(kind=CaseEventKind.ROUTE)
    assert (route.from_status, route.to_status, route.person, route.note) == ("open", "assigned", grid.officer, "自动分派给 张浩")
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="cases.case")
    assert (event.object_id, event.scope_path, event.after["status"]) == (str(case.pk), grid.post.path, "assigned")


def test_without_a_responsible_person_the_case_goes_to_triage(grid):
    case = open_at(grid.vacant_post)
    assert (case.status, case.responsible_person, case.assignee, case.needs_triage) == (CaseStatus.OPEN, None, None, True)
    assert case.triage_reason == "东昌东路·嫩江路口当前没有包点段民警（第一责任人）"
    assert kinds(case) == [CaseEventKind.OPEN, CaseEventKind.TRIAGE]


def test_deadline_in_the_past_is_refused_and_today_is_accepted(grid):
    with pytest.raises(ApplicationError, match="整改期限 2026-05-19 已过，不能早于今天 2026-05-20"):
        open_at(grid.post, deadline=dt.date(2026, 5, 19))
    assert Case.objects.count() == 0
    assert open_at(grid.post, deadline=TODAY).deadline == TODAY


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("title", " ", "请填写问题"), ("category", "", "请填写类别"), ("source", "rumour", "未知的问题来源"),
     ("severity", "extreme", "未知的严重程度")],
)
def test_open_validates_its_input(grid, field, value, message):
    arguments = {"actor": None, "node": grid.post, "title": "t", "category": "c", "deadline": DEADLINE, "now": NOW,
                 field: value}
    with pytest.raises(ApplicationError, match=message):
        services.case_open(**arguments)


def test_open_messages_in_english(grid):
    """The catalog's English: a plain message and one with placeholders."""
    with translation.override("en"):
        with pytest.raises(ApplicationError) as caught:
            open_at(grid.post, deadline=dt.date(2026, 5, 19))
        assert caught.value.message == "The rectification deadline 2026-05-19 has passed; it cannot be earlier than today, 2026-05-20"
        with pytest.raises(ApplicationError) as caught:
            services.case_open(actor=None, node=grid.post, title=" ", category="c", deadline=DEADLINE, now=NOW)
        assert caught.value.message == "Please enter the problem"


def test_open_by_a_manager_needs_the_node_in_scope(grid, world):
    services.case_open(actor=grid.line_leader_user, node=grid.post, title="t", category="c", deadline=DEADLINE, now=NOW)
    with pytest.raises(ApplicationError, match="不在您的数据范围内"):
        services.case_open(actor=grid.line_leader_user, node=world.village_b, title="t", category="c",
                           deadline=DEADLINE, now=NOW)
    with pytest.raises(ApplicationError, match="无权登记问题"):
        services.case_open(actor=grid.officer_user, node=grid.post, title="t", category="c", deadline=DEADLINE, now=NOW)


def test_the_whole_loop_closes_on_time(grid):
    case = open_at(grid.post)
    case = services.case_start(actor=grid.officer_user, case=case, version=1, now=NOW)
    later = NOW + dt.timedelta(days=2)
    case = services.case_submit(actor=grid.officer_user, case=case, version=2, note="已施划停止线并设警示牌",
                                photos_in=[photo()], lon=116.042, lat=36.456, now=later)
    after = Evidence.objects.get(case=case)
    assert (after.kind, after.uploaded_at, after.uploaded_by, after.lon, after.lat, after.content_type) == (
        EvidenceKind.AFTER, later, grid.officer_user, 116.042, 36.456, "image/png"
    )
    assert after.case_event == case.events.get(kind=CaseEventKind.SUBMIT)
    closing = NOW + dt.timedelta(days=7, hours=8)  # 27 May, the deadline day
    case = services.case_verify(actor=grid.line_leader_user, case=case, version=3, note="现场复核合格", now=closing)
    case.refresh_from_db()
    assert (case.status, case.version, case.closed_at, case.closed_on_time, case.verified_by, case.submitted_by) == (
        CaseStatus.CLOSED, 4, closing, True, grid.line_leader_user, grid.officer_user
    )
    assert kinds(case) == ["open", "route", "start", "submit", "verify"]
    assert [(e.from_status, e.to_status) for e in case.events.order_by("at", "pk")][2:] == [
        ("assigned", "in_progress"), ("in_progress", "submitted"), ("submitted", "closed")
    ]
    reasons = list(AuditEvent.objects.filter(object_type="cases.case", action=AuditAction.UPDATE)
                   .order_by("id").values_list("reason", flat=True))
    assert reasons == ["开始整改", "提交整改", "核查通过销号"]


def test_closed_after_the_deadline_is_late(grid):
    case = open_at(grid.post)
    case = services.case_start(actor=grid.officer_user, case=case, version=1, now=NOW)
    case = services.case_submit(actor=grid.officer_user, case=case, version=2, note="", photos_in=[photo()], now=NOW)
    late = timezone.make_aware(dt.datetime(2026, 5, 28, 0, 5))
    case = services.case_verify(actor=grid.inspector, case=case, version=3, now=late)
    assert (case.closed_on_time, case.closed_at) == (False, late)


def test_rejected_fix_goes_back_to_work_and_is_counted(grid):
    case = open_at(grid.post)
    case = services.case_start(actor=grid.officer_user, case=case, version=1, now=NOW)
    case = services.case_submit(actor=grid.officer_user, case=case, version=2, note="已整改", photos_in=[photo()], now=NOW)
    with pytest.raises(ApplicationError, match="请填写退回原因"):
        services.case_reject(actor=grid.inspector, case=case, version=3, reason=" ")
    case = services.case_reject(actor=grid.inspector, case=case, version=3, reason="标线仍不清晰", now=NOW)
    assert (case.status, case.rejection_count) == (CaseStatus.IN_PROGRESS, 1)
    case = services.case_submit(actor=grid.officer_user, case=case, version=4, note="重新施划", photos_in=[photo()], now=NOW)
    case = services.case_verify(actor=grid.inspector, case=case, version=5, now=NOW)
    assert (case.status, case.rejection_count) == (CaseStatus.CLOSED, 1)
    assert kinds(case) == ["open", "route", "start", "submit", "reject", "submit", "verify"]
    assert case.events.get(kind="reject").note == "标线仍不清晰"


def test_the_verifier_is_never_the_one_who_made_the_fix(grid):
    case = open_at(grid.post)
    case = services.case_start(actor=grid.line_leader_user, case=case, version=1, now=NOW)
    case = services.case_submit(actor=grid.line_leader_user, case=case, version=2, note="", photos_in=[photo()], now=NOW)
    with pytest.raises(ApplicationError) as caught:
        services.case_verify(actor=grid.line_leader_user, case=case, version=3, now=NOW)
    assert caught.value.message == "整改人不能核查自己提交的整改（交叉复核）"
    with pytest.raises(ApplicationError, match="无权核查该问题"):  # an officer's role cannot verify at all
        services.case_verify(actor=grid.officer_user, case=case, version=3, now=NOW)
    with pytest.raises(ApplicationError, match="交叉复核"):
        services.case_reject(actor=grid.line_leader_user, case=case, version=3, reason="x", now=NOW)
    # The assignee's account with the verify action is refused too, even when someone else submitted.
    grid.officer_user.role = Role.SQUAD_LEADER
    grid.officer_user.save()
    with pytest.raises(ApplicationError, match="交叉复核"):
        services.case_verify(actor=grid.officer_user, case=case, version=3, now=NOW)
    assert services.case_verify(actor=grid.zone_leader_user, case=case, version=3, now=NOW).status == CaseStatus.CLOSED


def test_cancel_needs_a_reason_and_an_active_case(grid):
    case = open_at(grid.post)
    with pytest.raises(ApplicationError, match="请填写撤销原因"):
        services.case_cancel(actor=grid.line_leader_user, case=case, version=1, reason="")
    case = services.case_cancel(actor=grid.line_leader_user, case=case, version=1, reason="重复登记", now=NOW)
    assert (case.status, case.cancelled_reason) == (CaseStatus.CANCELLED, "重复登记")
    with pytest.raises(ApplicationError, match="问题当前状态为“已撤销”，不能撤销"):
        services.case_cancel(actor=grid.line_leader_user, case=case, version=2, reason="again", now=NOW)


def test_assign_from_triage_reassign_and_route_again(grid):
    case = open_at(grid.vacant_post)
    case = services.case_assign(actor=grid.line_leader_user, case=case, version=1, person=grid.auxiliary, now=NOW)
    assert (case.status, case.responsible_person, case.assignee, case.needs_triage, case.triage_reason) == (
        CaseStatus.ASSIGNED, grid.auxiliary, None, False, ""
    )
    event = case.events.get(kind=CaseEventKind.ASSIGN)
    assert (event.person, event.note, event.actor) == (grid.auxiliary, "分派给 王小兵", grid.line_leader_user)
    with pytest.raises(ApplicationError, match="无法自动分派：东昌东路·嫩江路口当前没有包点段民警"):
        services.case_assign(actor=grid.line_leader_user, case=case, version=2, person=None, now=NOW)
    routed = open_at(grid.post)
    routed = services.case_start(actor=grid.officer_user, case=routed, version=1, now=NOW)
    routed = services.case_assign(actor=grid.line_leader_user, case=routed, version=2, person=grid.auxiliary, now=NOW)
    assert routed.status == CaseStatus.ASSIGNED  # re-assigned work starts again
    routed = services.case_assign(actor=grid.line_leader_user, case=routed, version=3, person=None, now=NOW)
    assert (routed.responsible_person, routed.assignee) == (grid.officer, grid.officer_user)


def test_permissions_of_each_action(grid, world):
    case = open_at(grid.post)
    with pytest.raises(ApplicationError, match="无权分派或撤销该问题"):
        services.case_assign(actor=grid.officer_user, case=case, version=1, person=grid.auxiliary)
    outsider = factories.user_with_scope(Role.SQUAD_LEADER, world.town_b, username="outsider")
    with pytest.raises(ApplicationError, match="无权分派或撤销该问题"):
        services.case_cancel(actor=outsider, case=case, version=1, reason="x")
    other_officer = factories.user_with_scope(Role.OFFICER, grid.post, username="other_officer")
    with pytest.raises(ApplicationError, match="该问题未分派给您"):
        services.case_start(actor=other_officer, case=case, version=1)
    with pytest.raises(ApplicationError, match="无权办理问题"):
        services.case_start(actor=grid.inspector, case=case, version=1)
    # a manager in scope may act for a responsible person without an account
    assert services.case_start(actor=grid.line_leader_user, case=case, version=1).status == CaseStatus.IN_PROGRESS


STATUSES = [CaseStatus.OPEN, CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.SUBMITTED, CaseStatus.CLOSED,
            CaseStatus.CANCELLED]
VALID = {
    ("assign", "open"), ("assign", "assigned"), ("assign", "in_progress"), ("start", "assigned"),
    ("submit", "in_progress"), ("verify", "submitted"), ("reject", "submitted"), ("cancel", "open"),
    ("cancel", "assigned"), ("cancel", "in_progress"), ("cancel", "submitted"),
}
TARGET = {"assign": "assigned", "start": "in_progress", "submit": "submitted", "verify": "closed",
          "reject": "in_progress", "cancel": "cancelled"}


@pytest.mark.parametrize(("action", "status"), list(itertools.product(services.TRANSITIONS, STATUSES)))
def test_every_status_action_pair(grid, action, status):
    case = open_at(grid.post)
    facts = {"closed_at": NOW, "closed_on_time": True} if status == CaseStatus.CLOSED else {}
    Case.objects.filter(pk=case.pk).update(status=status, version=7, **facts)
    case.refresh_from_db()
    call = {
        "assign": lambda: services.case_assign(actor=grid.admin, case=case, version=7, person=grid.auxiliary, now=NOW),
        "start": lambda: services.case_start(actor=grid.admin, case=case, version=7, now=NOW),
        "submit": lambda: services.case_submit(actor=grid.admin, case=case, version=7, note="", photos_in=[photo()], now=NOW),
        "verify": lambda: services.case_verify(actor=grid.admin, case=case, version=7, now=NOW),
        "reject": lambda: services.case_reject(actor=grid.admin, case=case, version=7, reason="不合格", now=NOW),
        "cancel": lambda: services.case_cancel(actor=grid.admin, case=case, version=7, reason="误报", now=NOW),
    }[action]
    if (action, status) in VALID:
        assert (call().status, Case.objects.get(pk=case.pk).version) == (TARGET[action], 8)
    else:
        with pytest.raises(ApplicationError) as caught:
            call()
        label = dict(CaseStatus.choices)[status]
        assert caught.value.message.startswith(f"问题当前状态为“{label}”，不能{services.ACTION_LABELS[action]}")
        assert Case.objects.get(pk=case.pk).version == 7
    assert services.allowed_actions(actor=grid.admin, case=case) == [
        a for a in services.TRANSITIONS if (a, status) in VALID
    ]


def test_a_stale_version_is_refused_in_one_thread(grid):
    case = open_at(grid.post)
    first, second = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)  # two people read version 1
    services.case_start(actor=grid.officer_user, case=first, version=first.version, now=NOW)
    with pytest.raises(ApplicationError) as caught:
        services.case_cancel(actor=grid.line_leader_user, case=second, version=second.version, reason="误报")
    assert caught.value.message == services.STALE
    assert Case.objects.get(pk=case.pk).status == CaseStatus.IN_PROGRESS
    with pytest.raises(ApplicationError, match="该问题已被他人修改"):
        services.case_start(actor=grid.officer_user, case=case, version=0)


def test_submit_needs_a_real_photo_within_the_limit(grid, settings):
    case = open_at(grid.post)
    case = services.case_start(actor=grid.officer_user, case=case, version=1, now=NOW)
    with pytest.raises(ApplicationError, match="须上传至少一张整改后照片"):
        services.case_submit(actor=grid.officer_user, case=case, version=2, note="", photos_in=[])
    with pytest.raises(ApplicationError, match="不是图片"):
        services.case_submit(actor=grid.officer_user, case=case, version=2, note="",
                             photos_in=[photo("照片.jpg", b"MZ\x90\x00 not really a photo", "image/jpeg")])
    with pytest.raises(ApplicationError, match="图片已损坏"):
        services.case_submit(actor=grid.officer_user, case=case, version=2, note="",
                             photos_in=[photo("cut.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "image/jpeg")])
    settings.CIVICGRID_EVIDENCE_MAX_BYTES = 1024
    with pytest.raises(ApplicationError, match="照片超过大小上限"):
        services.case_submit(actor=grid.officer_user, case=case, version=2, note="",
                             photos_in=[photo("big.jpg", jpeg_header() + b"\x00" * 2000, "image/jpeg")])
    with pytest.raises(ApplicationError, match="经度和纬度须同时填写"):
        services.case_submit(actor=grid.officer_user, case=case, version=2, note="", photos_in=[photo()], lon=116.0)
    assert (Case.objects.get(pk=case.pk).version, Evidence.objects.count()) == (2, 0)
    accepted = services.case_submit(actor=grid.officer_user, case=case, version=2, note="",
                                    photos_in=[photo("ok.jpg", jpeg_header(), "image/jpeg")])
    evidence = Evidence.objects.get(case=accepted)
    assert (evidence.content_type, evidence.width, evidence.height, evidence.file.name.endswith(".jpg")) == (
        "image/jpeg", 640, 480, True
    )


def test_a_failed_write_removes_the_photos_it_stored(grid, settings, tmp_path):
    case = open_at(grid.post)
    case = services.case_start(actor=grid.officer_user, case=case, version=1, now=NOW)
    stale = Case.objects.get(pk=case.pk)
    services.case_cancel(actor=grid.line_leader_user, case=case, version=2, reason="误报")
    with pytest.raises(ApplicationError, match="该问题已被他人修改"):
        services.case_submit(actor=grid.officer_user, case=stale, version=2, note="", photos_in=[photo()])
    assert [path for path in (tmp_path / "media").rglob("*") if path.is_file()] == []


def test_bulk_assign_skips_what_cannot_be_assigned(grid):
    first, second = open_at(grid.vacant_post), open_at(grid.vacant_post)
    services.case_cancel(actor=grid.line_leader_user, case=second, version=1, reason="重复")
    result = services.cases_bulk_assign(actor=grid.line_leader_user, cases=[first, second], person=grid.auxiliary)
    assert result.assigned == [first.pk]
    assert result.skipped == {second.pk: "问题当前状态为“已撤销”，不能分派"}
    assert Case.objects.get(pk=first.pk).responsible_person == grid.auxiliary
    with pytest.raises(ApplicationError, match="无权分派问题"):
        services.cases_bulk_assign(actor=grid.officer_user, cases=[first], person=grid.auxiliary)
