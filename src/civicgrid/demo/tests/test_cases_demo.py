"""The demo's rectification loop: the §2.4 intersection standard, a year of inspections along 东昌东路,
cases in every state with their history, escalation and triage, seen through the demo logins; fast and
deterministic. The demo is built once for the module."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from civicgrid.accounts.models import User
from civicgrid.cases.models import (
    Case,
    CaseEventKind,
    CaseSource,
    CaseStatus,
    Evidence,
    Inspection,
    StandardVersion,
)
from civicgrid.cases.selectors import case_list
from civicgrid.demo import cases_demo
from civicgrid.territory.models import Node


@pytest.fixture(scope="module")
def demo_built(django_db_setup: None, django_db_blocker, tmp_path_factory) -> Iterator[None]:  # type: ignore[no-untyped-def]
    media = tmp_path_factory.mktemp("media")
    with override_settings(MEDIA_ROOT=media), django_db_blocker.unblock():
        call_command("demo", quiet=True)
        yield
        call_command("flush", interactive=False, verbosity=0)


@pytest.fixture
def demo(demo_built: None, db: None) -> None:
    """The demo world, with this test's changes rolled back afterwards."""


def user(username: str) -> User:
    return User.objects.get(username=username)


def line_cases():
    line = Node.objects.get(name=cases_demo.LINE_NAME, kind="line")
    return Case.objects.filter(scope_path__startswith=line.path)




def test_standard_is_published_with_the_intersection_checklist(demo: None) -> None:
    version = StandardVersion.objects.get(standard__code=cases_demo.STANDARD_CODE)
    assert (version.number, version.status, version.effective_from) == (1, "published", dt.date(2020, 1, 1))
    titles = list(version.items.order_by("order").values_list("title", flat=True))
    assert titles == [item.title for item in cases_demo.ITEMS]
    for wanted in ("机动车礼让斑马线", "行人不闯红灯、不乱穿马路、不翻越护栏", "非机动车不闯红灯、不逆行",
                   "行人过街设施和机非分离设施完好", "交通信号灯运行正常", "早中晚高峰时段有文明劝导"):
        assert wanted in titles
    measured = version.items.get(code="2.5")
    assert (measured.rule, measured.comparison, measured.threshold, measured.unit) == ("measured", "gte", 98, "%")


def test_a_year_of_inspections_along_the_line(demo: None) -> None:
    inspections = Inspection.objects.filter(node__parent__name=cases_demo.LINE_NAME).order_by("inspected_on")
    days = [inspection.inspected_on for inspection in inspections]
    today = timezone.localdate()
    assert len(days) == len(cases_demo.OUTCOMES) + 2
    assert today - days[0] > dt.timedelta(days=300)
    assert today - days[0] < dt.timedelta(days=366)
    assert len({day.strftime("%Y-%m") for day in days}) >= 11
    assert {i.status for i in inspections} == {"completed"}
    assert {i.inspector.username for i in inspections} == {"tian.guodong"}
    assert len({i.node_id for i in inspections}) == 5  # every post of 东昌东路
    assert all(i.items_failed >= 1 for i in inspections)


def test_cases_in_every_state(demo: None) -> None:
    cases = list(line_cases())
    statuses = Counter(case.status for case in cases)
    assert {CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.SUBMITTED, CaseStatus.CLOSED,
            CaseStatus.CANCELLED} <= set(statuses)
    closed = [case for case in cases if case.status == CaseStatus.CLOSED]
    assert {case.closed_on_time for case in closed} == {True, False}
    rejected = [case for case in closed if case.rejection_count]
    assert rejected
    assert [e.kind for e in rejected[0].events.order_by("at", "pk")] == [
        "open", "route", "start", "submit", "reject", "submit", "verify"
    ]
    overdue = [case for case in cases if case.overdue_days]
    assert overdue
    assert all(case.escalation_level >= 1 for case in overdue)
    assert any(case.escalation_exhausted for case in overdue)
    assert any(not case.escalation_exhausted for case in overdue)
    assert all(case.source == CaseSource.INSPECTION for case in cases)
    triage = Case.objects.get(needs_triage=True)
    assert (triage.status, triage.node.name, triage.source) == (CaseStatus.OPEN, "黄河路·珠江路口", "citizen_report")
    for case in closed:
        assert case.events.filter(kind=CaseEventKind.VERIFY).get().actor.username != case.submitted_by.username


def test_photos_before_and_after(demo: None) -> None:
    closed = line_cases().filter(status=CaseStatus.CLOSED).first()
    kinds = set(Evidence.objects.filter(case=closed).values_list("kind", flat=True))
    assert kinds == {"before", "after"}
    assert Evidence.objects.filter(case=closed, kind="after").first().file.read(4) == b"\x89PNG"


def test_the_demo_logins_see_their_queues(demo: None) -> None:
    officer = user("zhang.hao")
    mine = list(case_list(actor=officer, queue="my"))
    assert mine
    assert {case.node.name for case in mine} == {"东昌东路·振华超市路口"}
    squad = user("li.weidong")
    assert case_list(actor=squad, queue="area").count() == line_cases().count()
    escalated_to_squad = case_list(actor=squad, queue="my").filter(escalated_to_account=squad)
    assert escalated_to_squad.exists()
    assert case_list(actor=user("xu.jianjun"), queue="area").count() == 0
    assert case_list(actor=user("zhao.liangcheng"), queue="triage").count() == 1


def test_plan_is_deterministic() -> None:
    posts = ["a", "b", "c", "d", "e"]
    today = dt.date(2026, 3, 15)
    first = cases_demo.plan_cases(today=today, posts=posts)
    assert first == cases_demo.plan_cases(today=today, posts=posts)
    assert first != cases_demo.plan_cases(today=today, posts=posts, seed=1)
    assert [p.outcome for p in first] == [*cases_demo.OUTCOMES, "overdue", "assigned"]


def test_running_demo_again_changes_nothing(demo: None) -> None:
    before = (Case.objects.count(), Inspection.objects.count(), StandardVersion.objects.count())
    call_command("demo", quiet=True)
    assert (Case.objects.count(), Inspection.objects.count(), StandardVersion.objects.count()) == before


def test_reset_rebuilds_the_cases_and_keeps_one_standard(demo: None, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path
    before = Counter(line_cases().values_list("status", flat=True))
    call_command("demo", reset=True, quiet=True)
    assert StandardVersion.objects.filter(standard__code=cases_demo.STANDARD_CODE).count() == 1
    assert Counter(line_cases().values_list("status", flat=True)) == before
    assert Case.objects.filter(needs_triage=True).count() == 1
