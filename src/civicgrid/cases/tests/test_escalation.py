"""Escalation of overdue cases up the responsibility chain: levels by days overdue, idempotence,
the top of the chain, the command and the task."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.utils import timezone

from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseEventKind, CaseStatus
from civicgrid.cases.tasks import escalate_overdue_cases
from civicgrid.core.models import AuditEvent

pytestmark = pytest.mark.django_db

OPENED = timezone.make_aware(dt.datetime(2026, 5, 1, 9, 0))
DEADLINE = dt.date(2026, 5, 10)


def at(day: int, month: int = 5) -> dt.datetime:
    return timezone.make_aware(dt.datetime(2026, month, day, 2, 0))


def open_case(node) -> Case:
    return services.case_open(actor=None, node=node, title="信号灯故障", category="交通设施", deadline=DEADLINE, now=OPENED)


def escalations(case: Case) -> list[tuple[int | None, str]]:
    return [
        (e.escalation_level, e.person.name if e.person else "")
        for e in case.events.filter(kind__in=[CaseEventKind.ESCALATE, CaseEventKind.ESCALATION_TOP]).order_by("at", "pk")
    ]


@pytest.mark.parametrize(("today", "level"), [(10, 0), (11, 1), (13, 1), (14, 2), (16, 2), (17, 3), (30, 7)])
def test_target_level_is_one_per_three_days_overdue(today, level):
    assert services.target_level(deadline=DEADLINE, today=dt.date(2026, 5, today), step_days=3) == level


def test_levels_climb_the_chain_and_running_twice_changes_nothing(grid):
    case = open_case(grid.post)
    assert services.cases_escalate_overdue(now=at(10)) == services.EscalationSummary(0, 0, 0)  # due today: not late
    assert services.cases_escalate_overdue(now=at(11)) == services.EscalationSummary(1, 1, 0)
    case.refresh_from_db()
    assert (case.escalation_level, case.escalated_to_person, case.escalated_to_account, case.version) == (
        1, grid.line_leader, grid.line_leader_user, 2
    )
    assert services.cases_escalate_overdue(now=at(11)) == services.EscalationSummary(1, 0, 0)
    assert services.cases_escalate_overdue(now=at(13)) == services.EscalationSummary(1, 0, 0)
    assert escalations(case) == [(1, "李卫东")]
    services.cases_escalate_overdue(now=at(14))
    case.refresh_from_db()
    assert (case.escalation_level, case.escalated_to_person, case.escalated_to_account) == (
        2, grid.zone_leader, grid.zone_leader_user
    )
    assert escalations(case) == [(1, "李卫东"), (2, "韩东明")]
    assert case.status == CaseStatus.ASSIGNED  # escalation does not change the status
    assert AuditEvent.objects.filter(object_type="cases.case", reason="逾期升级督办").count() == 2


def test_a_late_run_catches_up_level_by_level(grid):
    case = open_case(grid.post)
    services.cases_escalate_overdue(now=at(17))
    case.refresh_from_db()
    assert (case.escalation_level, case.escalated_to_person, case.escalated_to_account) == (3, grid.brigade_head, None)
    assert escalations(case) == [(1, "李卫东"), (2, "韩东明"), (3, "周大队")]


def test_the_top_of_the_chain_keeps_the_level_and_flags_once(grid):
    case = open_case(grid.post)
    summary = services.cases_escalate_overdue(now=at(20))  # level 4 wanted, the chain has three people
    assert summary == services.EscalationSummary(1, 1, 1)
    case.refresh_from_db()
    assert (case.escalation_level, case.escalation_exhausted, case.escalated_to_person) == (3, True, grid.brigade_head)
    assert escalations(case)[-1] == (3, "")
    assert case.events.get(kind=CaseEventKind.ESCALATION_TOP).note.startswith("逾期 10 天，责任链已到最高层级")
    assert services.cases_escalate_overdue(now=at(30)) == services.EscalationSummary(0, 0, 0)
    assert len(escalations(case)) == 4


def test_triage_cases_escalate_from_the_node_upwards(grid):
    case = open_case(grid.vacant_post)
    services.cases_escalate_overdue(now=at(11))
    case.refresh_from_db()
    assert (case.status, case.needs_triage, case.escalation_level, case.escalated_to_person) == (
        CaseStatus.OPEN, True, 1, grid.line_leader
    )


def test_submitted_closed_and_cancelled_cases_do_not_escalate(grid):
    from civicgrid.cases.tests.factories import photo

    submitted, cancelled = open_case(grid.post), open_case(grid.post)
    services.case_start(actor=grid.officer_user, case=submitted, version=1, now=OPENED)
    services.case_submit(actor=grid.officer_user, case=submitted, version=2, note="", photos_in=[photo()], now=OPENED)
    services.case_cancel(actor=grid.line_leader_user, case=cancelled, version=1, reason="误报", now=OPENED)
    assert services.cases_escalate_overdue(now=at(20)) == services.EscalationSummary(0, 0, 0)


def test_the_step_comes_from_the_settings(grid, settings):
    settings.CIVICGRID_CASE_ESCALATION_DAYS = 7
    case = open_case(grid.post)
    services.cases_escalate_overdue(now=at(17))  # 7 days overdue: level 1
    case.refresh_from_db()
    assert case.escalation_level == 1


def test_command_and_task(grid):
    case = open_case(grid.post)
    out = io.StringIO()
    call_command("escalate_overdue", now="2026-05-11T08:00", stdout=out)
    assert out.getvalue().strip() == "逾期问题: 1；本次升级: 1；已到最高层级: 0（每逾期 3 天升一级）"
    case.refresh_from_db()
    assert case.escalation_level == 1
    call_command("escalate_overdue", now="2026-05-11T09:00", stdout=io.StringIO())
    assert Case.objects.get(pk=case.pk).version == 2
    # The task runs the same service as of now: the case is long overdue by then.
    result = escalate_overdue_cases.call()
    assert result == {"overdue": 1, "escalated": 1, "topped": 1}
