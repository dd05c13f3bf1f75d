"""Scoped reads: every selector with an actor inside the area, one outside, one with a grant on a
parent node, one whose role lacks the action — and the assignee who sees their own case anyway."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.cases import selectors, services
from civicgrid.cases.inspections import inspection_create
from civicgrid.cases.models import Case
from civicgrid.cases.tests.factories import photo, published_standard
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_towns(grid, world):
    """A case, an inspection and a photo on the post (town-side: the brigade under the district) and a
    case in village B; actors on the line, on town B, on the district, and one without VIEW_CASES."""
    deadline = timezone.localdate() + dt.timedelta(days=3)
    case = services.case_open(actor=None, node=grid.post, title="护栏破损", category="交通设施", deadline=deadline)
    services.case_start(actor=grid.officer_user, case=case, version=1)
    services.case_submit(actor=grid.officer_user, case=case, version=2, note="", photos_in=[photo()])
    other = services.case_open(actor=None, node=world.village_b, title="前寨村垃圾", category="市容", deadline=deadline)
    inspection = inspection_create(actor=grid.inspector, version=published_standard(), node=grid.post,
                                   inspected_on=timezone.localdate())
    return {
        "case": case, "other": other, "inspection": inspection, "photo": case.evidence.get(),
        "inside": grid.line_leader_user,
        "outside": factories.user_with_scope(Role.SQUAD_LEADER, world.town_b, username="town_b_leader"),
        "parent": factories.user_with_scope(Role.COUNTY_ADMIN, world.district, username="district_admin"),
        "lacking": factories.user_with_scope(Role.DEPARTMENT_CLERK, world.district, username="clerk"),
    }


def pks(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


def test_case_list_and_get(two_towns):
    t = two_towns
    case, other = t["case"], t["other"]
    assert pks(selectors.case_list(actor=t["inside"])) == {case.pk}
    assert pks(selectors.case_list(actor=t["outside"])) == {other.pk}
    assert pks(selectors.case_list(actor=t["parent"])) == {case.pk, other.pk}
    assert pks(selectors.case_list(actor=t["lacking"])) == set()
    assert selectors.case_get(actor=t["inside"], pk=case.pk) == case
    for actor, pk in ((t["outside"], case.pk), (t["inside"], other.pk), (t["lacking"], case.pk),
                      (t["inside"], 10**9), (t["inside"], "x")):
        with pytest.raises(Http404):
            selectors.case_get(actor=actor, pk=pk)
    assert selectors.case_categories(actor=t["parent"]) == ["交通设施", "市容"]


def test_the_assignee_sees_their_case_and_its_photo_outside_their_grants(two_towns, grid):
    t = two_towns
    Case.objects.filter(pk=t["other"].pk).update(assignee=grid.officer_user)
    assert pks(selectors.case_list(actor=grid.officer_user, queue="my")) == {t["case"].pk, t["other"].pk}
    assert selectors.case_get(actor=grid.officer_user, pk=t["other"].pk) == t["other"]
    assert selectors.evidence_get(actor=grid.officer_user, pk=t["photo"].pk) == t["photo"]
    # …but not the rest of the other town
    assert pks(selectors.case_list(actor=grid.officer_user, queue="area")) == {t["case"].pk, t["other"].pk}
    third = services.case_open(actor=None, node=t["other"].node, title="另一件", category="市容",
                               deadline=timezone.localdate())
    assert third.pk not in pks(selectors.case_list(actor=grid.officer_user))


def test_inspections_and_evidence(two_towns):
    t = two_towns
    inspection, evidence = t["inspection"], t["photo"]
    assert pks(selectors.inspection_list(actor=t["inside"])) == {inspection.pk}
    assert pks(selectors.inspection_list(actor=t["outside"])) == set()
    assert pks(selectors.inspection_list(actor=t["parent"])) == {inspection.pk}
    assert selectors.inspection_get(actor=t["parent"], pk=inspection.pk) == inspection
    assert selectors.evidence_get(actor=t["parent"], pk=evidence.pk) == evidence
    for actor in (t["outside"], t["lacking"]):
        with pytest.raises(Http404):
            selectors.inspection_get(actor=actor, pk=inspection.pk)
        with pytest.raises(Http404):
            selectors.evidence_get(actor=actor, pk=evidence.pk)


def test_standards_are_catalogue_data_for_case_roles_only(two_towns):
    t = two_towns
    assert [s.code for s in selectors.standard_list(actor=t["outside"])] == ["WMJT-LK"]
    assert selectors.standard_version_get(actor=t["outside"], code="WMJT-LK", number=1).number == 1
    assert list(selectors.standard_list(actor=t["lacking"])) == []
    with pytest.raises(Http404):
        selectors.standard_version_get(actor=t["lacking"], code="WMJT-LK", number=1)
    with pytest.raises(Http404):
        selectors.standard_version_get(actor=t["outside"], code="WMJT-LK", number="10" * 20)


def test_assignable_people_are_the_holders_in_scope(two_towns, grid):
    names = set(selectors.assignable_people(actor=two_towns["inside"]).values_list("name", flat=True))
    assert names == {"张浩", "王小兵", "李卫东"}  # the line and its posts; not the zone or the brigade above
    assert list(selectors.assignable_people(actor=two_towns["outside"])) == []
