"""Reads: ranking by direction with ties, attainment, readings, scoping (inside, outside, parent
grant), as-of answers (stored or counted) and the responsible people on the cut day."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.http import Http404
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.indicators.models import Indicator
from civicgrid.indicators.periods import period_end, period_start
from civicgrid.indicators.selectors import (
    Reading,
    attainment,
    child_ranking,
    dashboard,
    indicator_as_of,
    indicator_get,
    indicator_list,
    indicator_node_default,
    indicator_node_get,
    node_readings,
    node_trends,
    rank,
)
from civicgrid.indicators.services import indicator_recompute
from civicgrid.indicators.tests import factories
from civicgrid.territory.models import NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_start
from civicgrid.testing import factories as base

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
THIS_MONTH = period_start("month", TODAY)
LAST_MONTH = period_start("month", THIS_MONTH - dt.timedelta(days=1))


@pytest.fixture
def valued(world, test_sources):
    """Town A: 枣寨村 9/10 and 东寨村 3/4; town B: 前寨村 1/100; stored for last and this month."""
    east = base.node(world.town_a, NodeKind.VILLAGE, "东寨村")
    test_sources.add(world.village_a, LAST_MONTH, 9, 10)
    test_sources.add(east, LAST_MONTH, 3, 4)
    test_sources.add(world.village_b, LAST_MONTH, 1, 100)
    indicator = factories.table_indicator(target=Decimal("80"))
    indicator_recompute(indicator=indicator, first=LAST_MONTH)
    world.east = east
    return indicator


def _reading(indicator: Indicator, numerator: int, denominator: int) -> Reading:
    return Reading(indicator, 0, THIS_MONTH, TODAY, numerator, denominator)


# --- pure rules --------------------------------------------------------------------------------


def test_ranking_is_direction_aware_with_shared_ranks_and_empty_last(world):
    higher = Indicator(code="h", name="h", unit="percent", direction="higher", numerator={}, denominator={})
    lower = Indicator(code="l", name="l", unit="percent", direction="lower", numerator={}, denominator={})
    nodes = [base.node(world.town_a, NodeKind.VILLAGE, name, code=f"V{name}") for name in "ABCDE"]

    def order(indicator):
        facts = [(1, 2), (3, 4), (1, 2), (0, 0), (1, 10)]  # 50 %, 75 %, 50 %, no value, 10 %
        ranked = rank([(node, _reading(indicator, n, d)) for node, (n, d) in zip(nodes, facts, strict=True)],
                      indicator.direction)
        return [(row.node.name, row.rank) for row in ranked]

    assert order(higher) == [("B", 1), ("A", 2), ("C", 2), ("E", 4), ("D", None)]
    assert order(lower) == [("E", 1), ("A", 2), ("C", 2), ("B", 4), ("D", None)]


def test_ties_are_broken_by_the_larger_denominator(world):
    indicator = Indicator(code="h", name="h", unit="percent", direction="higher", numerator={}, denominator={})
    small, large = (base.node(world.town_a, NodeKind.VILLAGE, name) for name in ("小村", "大村"))
    ranked = rank([(small, _reading(indicator, 1, 2)), (large, _reading(indicator, 50, 100))], "higher")
    assert [(row.node.name, row.rank) for row in ranked] == [("大村", 1), ("小村", 1)]


@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [("higher", "92", "met"), ("higher", "91.99", "near"), ("higher", "87.4", "near"), ("higher", "87.39", "off"),
     ("lower", "10", "met"), ("lower", "10.5", "near"), ("lower", "10.51", "off"), ("higher", None, "none")],
)
def test_attainment_against_the_target(direction, value, expected):
    target = Decimal("92") if direction == "higher" else Decimal("10")
    indicator = Indicator(code="x", name="x", unit="percent", direction=direction, target=target, numerator={})
    assert attainment(indicator, Decimal(value) if value else None) == expected
    assert attainment(Indicator(code="y", name="y", numerator={}), Decimal(1)) == "none"


def test_readings_scale_and_round_by_unit():
    percent = Indicator(code="p", name="p", unit="percent", target=Decimal("95"), numerator={}, denominator={})
    assert (_reading(percent, 911, 972).display, _reading(percent, 737, 972).display) == ("93.72%", "75.82%")
    assert _reading(percent, 911, 972).gap == Decimal("-1.28")
    assert _reading(percent, 1, 0).display == "—"
    permille = Indicator(code="m", name="m", unit="permille", numerator={}, denominator={})
    assert _reading(permille, 3, 1000).display == "3.00‰"
    count = Indicator(code="c", name="c", unit="count", numerator={}, denominator=None)
    assert (_reading(count, 42, 0).display, _reading(count, 42, 0).value) == ("42", Decimal(42))


# --- scoped reads ------------------------------------------------------------------------------


def test_nodes_are_found_only_inside_the_scope(world, valued):
    town_a = base.user_with_scope(Role.TOWN_OFFICER, world.town_a, username="a")
    district = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="d")
    clerk = base.user_with_scope(Role.DEPARTMENT_CLERK, world.district, username="clerk")  # no VIEW_INDICATORS
    assert indicator_node_get(actor=town_a, pk=world.village_a.pk) == world.village_a
    for pk in (world.village_b.pk, world.district.pk, 10**9, "x", 10**30):
        with pytest.raises(Http404):
            indicator_node_get(actor=town_a, pk=pk)
    assert indicator_node_get(actor=district, pk=world.village_b.pk) == world.village_b
    assert indicator_node_default(actor=town_a) == world.town_a
    with pytest.raises(Http404):
        indicator_node_get(actor=clerk, pk=world.village_a.pk)
    assert indicator_list(actor=clerk) == []
    with pytest.raises(Http404):
        indicator_get(actor=clerk, code=valued.code)


def test_values_outside_the_scope_are_not_read(world, valued):
    town_a = base.user_with_scope(Role.TOWN_OFFICER, world.town_a, username="a")
    district = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="d")
    # town A's officer asking about the district's node gets nothing stored (the row is outside)
    assert node_readings(actor=town_a, node=world.district, indicators=[valued], on=LAST_MONTH)[0].stored is False
    reading = node_readings(actor=district, node=world.district, indicators=[valued], on=LAST_MONTH)[0]
    assert (reading.numerator, reading.denominator, reading.display) == (13, 114, "11.40%")
    ranked = child_ranking(actor=district, indicator=valued, node=world.district, children=[world.town_a, world.town_b],
                           on=LAST_MONTH)
    assert [(row.node.name, row.rank, row.reading.numerator, row.reading.denominator) for row in ranked] == [
        ("顾官屯镇", 1, 12, 14), ("许营镇", 2, 1, 100)
    ]


def test_trend_has_one_reading_per_period_oldest_first(world, valued):
    district = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="d")
    trend = node_trends(actor=district, node=world.town_a, indicators=[valued], periods=3)[valued.pk]
    assert [(r.period_start, r.stored, r.numerator) for r in trend] == [
        (period_start("month", LAST_MONTH - dt.timedelta(days=1)), False, 0), (LAST_MONTH, True, 12), (THIS_MONTH, True, 12)
    ]


def test_dashboard_selects_an_indicator_with_data_and_ranks_children(world, valued):
    district = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="d")
    empty = factories.table_indicator("empty_rate", order=1)  # first in order, but nothing stored
    data = dashboard(actor=district, node=world.town_a, on=LAST_MONTH)
    assert [item.code for item in data.indicators] == [empty.code, valued.code]
    assert data.selected == valued
    assert [row.node.name for row in data.ranking] == ["枣寨村", "东寨村"]
    assert [a.name for a in data.ancestors] == ["高新区"]
    assert dashboard(actor=district, node=world.town_a, selected_code="empty_rate").selected == empty


def test_region_limits_where_an_indicator_is_listed(world):
    regional = factories.table_indicator("regional", region_code=world.town_b.code)
    everywhere = factories.table_indicator("everywhere")
    district = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="d")
    assert indicator_list(actor=district, node=world.village_b) == [everywhere, regional]
    assert indicator_list(actor=district, node=world.village_a) == [everywhere]
    assert indicator_list(actor=district, node=world.district) == [everywhere]


# --- as of a day -------------------------------------------------------------------------------


def test_as_of_uses_stored_rows_through_that_day_and_counts_otherwise(world, valued, test_sources):
    district = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="d")
    end = period_end("month", LAST_MONTH)
    stored = indicator_as_of(actor=district, indicator=valued, node=world.town_a, children=[world.village_a, world.east],
                             day=end)
    assert (stored.computed, stored.reading.numerator, stored.reading.denominator) == (False, 12, 14)
    # A fact that arrived on the 20th: as of the 19th it was not known; as of the 20th it was.
    twentieth = LAST_MONTH + dt.timedelta(days=19)
    test_sources.add(world.village_a, twentieth, 5, 5)
    before = indicator_as_of(actor=district, indicator=valued, node=world.town_a,
                             children=[world.village_a, world.east], day=twentieth - dt.timedelta(days=1))
    after = indicator_as_of(actor=district, indicator=valued, node=world.town_a,
                            children=[world.village_a, world.east], day=twentieth)
    assert (before.computed, before.reading.numerator, before.reading.denominator) == (True, 12, 14)
    assert (after.reading.numerator, after.reading.denominator) == (17, 19)
    assert [(row.node.name, row.reading.numerator, row.reading.denominator) for row in after.children] == [
        ("枣寨村", 14, 15), ("东寨村", 3, 4)
    ]
    assert after.reading.as_of == twentieth


def test_ranking_names_who_was_responsible_on_the_cut_day(world, valued):
    district = base.user_with_scope(Role.COUNTY_ADMIN, world.district, username="d")
    before, now = base.person(world.village_a, name="前任"), base.person(world.village_a, name="现任")
    first = assignment_start(actor=None, person=before, node=world.village_a, role=ResponsibilityRole.VILLAGE_CADRE,
                             valid_from=LAST_MONTH - dt.timedelta(days=60))
    from civicgrid.territory.services import assignment_end

    assignment_end(actor=None, assignment=first, valid_to=THIS_MONTH)
    assignment_start(actor=None, person=now, node=world.village_a, role=ResponsibilityRole.VILLAGE_CADRE,
                     valid_from=THIS_MONTH)
    children = [world.village_a, world.east]
    last = child_ranking(actor=district, indicator=valued, node=world.town_a, children=children, on=LAST_MONTH)
    current = child_ranking(actor=district, indicator=valued, node=world.town_a, children=children, on=TODAY)
    assert [(row.node.name, row.responsible) for row in last] == [("枣寨村", "前任"), ("东寨村", "")]
    assert [(row.node.name, row.responsible) for row in current] == [("枣寨村", "现任"), ("东寨村", "")]
