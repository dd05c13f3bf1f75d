"""Assignments feed the responsibility-coverage indicator incrementally: starting, ending (and
creating a node that needs a holder) call notify_changed after commit, so stored values move."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from civicgrid.indicators.models import Indicator, IndicatorValue
from civicgrid.indicators.services import indicator_recompute, indicators_sync_builtins
from civicgrid.territory.models import NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_end, assignment_start, node_create
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db


def coverage_now(node) -> tuple[int, int]:
    row = IndicatorValue.objects.get(
        indicator__code="responsibility_coverage", node=node, period_kind="month",
        period_start=timezone.localdate().replace(day=1),
    )
    return row.numerator, row.denominator


@pytest.fixture
def coverage(world):
    indicators_sync_builtins(enqueue=False)
    indicator = Indicator.objects.get(code="responsibility_coverage")
    indicator_recompute(indicator=indicator, first=timezone.localdate().replace(day=1))
    return indicator


def test_stored_coverage_moves_when_an_assignment_starts_and_ends(world, coverage, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    cadre = factories.person(world.village_a, name="孙为民")
    assert coverage_now(world.village_a) == (0, 1)
    assert coverage_now(world.district) == (0, 4)  # two towns, two villages need a primary holder

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assignment = assignment_start(actor=None, person=cadre, node=world.village_a,
                                      role=ResponsibilityRole.VILLAGE_CADRE, valid_from=today - dt.timedelta(days=40))
    assert len(callbacks) == 1
    assert coverage_now(world.village_a) == (1, 1)
    assert coverage_now(world.district) == (1, 4)

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assignment_end(actor=None, assignment=assignment, valid_to=today)
    assert len(callbacks) == 1
    assert coverage_now(world.village_a) == (0, 1)
    assert coverage_now(world.town_a) == (0, 2)
    assert coverage_now(world.district) == (0, 4)


def test_a_secondary_assignment_notifies_nothing(world, coverage, django_capture_on_commit_callbacks):
    helper = factories.person(world.village_a, name="周丽")
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        assignment_start(actor=None, person=helper, node=world.village_a, role=ResponsibilityRole.VILLAGE_CADRE,
                         valid_from=timezone.localdate(), is_primary=False)
    assert callbacks == []


def test_a_new_node_needing_a_holder_joins_the_denominator(world, coverage, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        village = node_create(actor=None, parent=world.town_a, kind=NodeKind.VILLAGE, code="371571100299", name="新村")
    assert len(callbacks) == 1
    assert coverage_now(village) == (0, 1)
    assert coverage_now(world.district) == (0, 5)
