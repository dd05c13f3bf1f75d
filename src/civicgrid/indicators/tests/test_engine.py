"""Roll-up arithmetic, periods, stocks and flows, as-of cuts and incremental updates of the engine."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicgrid.indicators.engine import node_ids_of
from civicgrid.indicators.models import IndicatorValue
from civicgrid.indicators.periods import (
    Cut,
    label,
    last_starts,
    next_start,
    period_end,
    period_start,
    starts_between,
)
from civicgrid.indicators.registry import Measure
from civicgrid.indicators.services import compute, indicator_recompute, notify_changed
from civicgrid.indicators.tests import factories
from civicgrid.people.models import Person
from civicgrid.territory.models import NodeKind
from civicgrid.testing import factories as base

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
THIS_MONTH = TODAY.replace(day=1)
LAST_MONTH = period_start("month", THIS_MONTH - dt.timedelta(days=1))


def stored(indicator) -> dict[tuple[int, dt.date], tuple[int, int, int, int]]:
    """Non-zero stored rows: (node, period) -> (numerator, denominator, own numerator, own denominator)."""
    return {
        (row.node_id, row.period_start): (row.numerator, row.denominator, row.own_numerator, row.own_denominator)
        for row in IndicatorValue.objects.filter(indicator=indicator)
        if (row.numerator, row.denominator, row.own_numerator, row.own_denominator) != (0, 0, 0, 0)
    }


def totals_at(indicator, node, start) -> tuple[int, int]:
    row = IndicatorValue.objects.get(indicator=indicator, node=node, period_start=start)
    return row.numerator, row.denominator


# --- periods -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "day", "start", "end"),
    [
        ("day", dt.date(2026, 3, 5), dt.date(2026, 3, 5), dt.date(2026, 3, 5)),
        ("week", dt.date(2026, 3, 5), dt.date(2026, 3, 2), dt.date(2026, 3, 8)),  # Thursday -> Monday..Sunday
        ("week", dt.date(2026, 1, 1), dt.date(2025, 12, 29), dt.date(2026, 1, 4)),  # ISO week across the year
        ("month", dt.date(2024, 2, 29), dt.date(2024, 2, 1), dt.date(2024, 2, 29)),
        ("month", dt.date(2026, 12, 31), dt.date(2026, 12, 1), dt.date(2026, 12, 31)),
        ("year", dt.date(2026, 7, 1), dt.date(2026, 1, 1), dt.date(2026, 12, 31)),
    ],
)
def test_period_bounds(kind, day, start, end):
    assert period_start(kind, day) == start
    assert period_end(kind, start) == end
    assert next_start(kind, start) == end + dt.timedelta(days=1)


def test_period_sequences_and_labels():
    assert starts_between("month", dt.date(2025, 11, 20), dt.date(2026, 2, 1)) == [
        dt.date(2025, 11, 1), dt.date(2025, 12, 1), dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    ]
    assert last_starts("month", dt.date(2026, 3, 15), 3) == [dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)]
    assert label("month", dt.date(2026, 5, 1)) == "2026年5月"
    assert label("week", dt.date(2025, 12, 29)) == "2026年第1周"
    assert label("year", dt.date(2026, 1, 1)) == "2026年"
    assert node_ids_of("/1/4/17/") == [1, 4, 17]


# --- roll-up -----------------------------------------------------------------------------------


def test_ratios_are_summed_not_averaged(world, test_sources):
    # Two villages of one town with unequal denominators: 9/10 and 1/100. The town is 10/110 =
    # 9.09 %, not the mean of 90 % and 1 % (45.5 %).
    village_2 = base.node(world.town_a, NodeKind.VILLAGE, "东寨村")
    test_sources.add(world.village_a, LAST_MONTH, 9, 10)
    test_sources.add(village_2, LAST_MONTH, 1, 100)
    indicator = factories.table_indicator()
    indicator_recompute(indicator=indicator, first=LAST_MONTH)
    assert totals_at(indicator, world.town_a, LAST_MONTH) == (10, 110)
    assert totals_at(indicator, world.district, LAST_MONTH) == (10, 110)
    row = IndicatorValue.objects.get(indicator=indicator, node=world.town_a, period_start=LAST_MONTH)
    assert row.ratio == Decimal(10) / Decimal(110)
    assert (row.own_numerator, row.own_denominator, row.as_of) == (0, 0, period_end("month", LAST_MONTH))


def test_every_level_is_stored_and_a_node_counts_its_own_records(world, test_sources):
    test_sources.add(world.town_a, LAST_MONTH, 1, 2)  # attributed to the town itself
    test_sources.add(world.village_a, LAST_MONTH, 3, 4)
    indicator = factories.table_indicator()
    indicator_recompute(indicator=indicator, first=LAST_MONTH, last=LAST_MONTH)
    assert stored(indicator) == {
        (world.district.pk, LAST_MONTH): (4, 6, 0, 0),
        (world.town_a.pk, LAST_MONTH): (4, 6, 1, 2),
        (world.village_a.pk, LAST_MONTH): (3, 4, 3, 4),
    }
    # The period is marked stored at the root even where nothing was counted.
    empty = factories.table_indicator("empty", valid_from=None)
    test_sources.facts.clear()
    indicator_recompute(indicator=empty, first=LAST_MONTH, last=LAST_MONTH)
    assert list(IndicatorValue.objects.filter(indicator=empty).values_list("node_id", "numerator", "denominator")) == [
        (world.district.pk, 0, 0)
    ]


KINDS = [NodeKind.DISTRICT, NodeKind.TOWN, NodeKind.VILLAGE, NodeKind.GRID]


@st.composite
def trees(draw):
    """A random tree shape (parent index per node; index 0 is the district) and per-node facts."""
    size = draw(st.integers(min_value=2, max_value=14))
    parents: list[int | None] = [None]
    depths = [0]
    for _index in range(1, size):
        # Four administrative levels: district, town, village, grid.
        parent = draw(st.sampled_from([i for i, depth in enumerate(depths) if depth < len(KINDS) - 1]))
        parents.append(parent)
        depths.append(depths[parent] + 1)
    facts = draw(st.lists(
        st.tuples(st.integers(min_value=0, max_value=size - 1), st.integers(0, 50), st.integers(0, 80)),
        min_size=1, max_size=20,
    ))
    return parents, facts



@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shape=trees())
def test_every_ancestor_is_the_sum_of_its_subtree(db, test_sources, shape):
    parents, facts = shape
    with transaction.atomic():
        nodes = []
        for index, parent in enumerate(parents):
            depth = 0 if parent is None else nodes[parent].depth + 1
            nodes.append(base.node(None if parent is None else nodes[parent], KINDS[depth], f"n{index}"))
        test_sources.facts.clear()
        for index, numerator, denominator in facts:
            test_sources.add(nodes[index], LAST_MONTH, numerator, denominator)
        indicator = factories.table_indicator()
        indicator_recompute(indicator=indicator, first=LAST_MONTH, last=LAST_MONTH)
        rows = {row.node_id: row for row in IndicatorValue.objects.filter(indicator=indicator)}
        for node in nodes:
            inside = [(n, d) for index, n, d in facts if nodes[index].path.startswith(node.path)]
            expected = (sum(n for n, _ in inside), sum(d for _, d in inside))
            row = rows.get(node.pk)
            got = (row.numerator, row.denominator) if row else (0, 0)
            assert got == expected, node.path
            if row is not None and row.denominator:
                assert row.ratio == Decimal(expected[0]) / Decimal(expected[1])
        transaction.set_rollback(True)


# --- flows, stocks, dates ----------------------------------------------------------------------


def _created(person: Person, day: dt.date, hour: int = 12) -> None:
    moment = timezone.make_aware(dt.datetime.combine(day, dt.time(hour)), timezone.get_default_timezone())
    Person.objects.filter(pk=person.pk).update(created_at=moment)


def test_flow_counts_records_dated_in_the_period_local_time(world):
    # 23:30 on the last day of a month in Beijing is 15:30 UTC: it belongs to that month, not the next.
    last_day = period_end("month", LAST_MONTH)
    late = base.person(world.village_a, name="晚登记")
    _created(late, last_day, hour=23)
    _created(world.person_a, THIS_MONTH)
    _created(world.person_b, LAST_MONTH - dt.timedelta(days=40))  # before the computed periods
    indicator = factories.indicator("registered", Measure(factories.PEOPLE_BY_NODE, date_field="created_at"), None,
                                    unit="count")
    indicator_recompute(indicator=indicator, first=LAST_MONTH)
    assert totals_at(indicator, world.village_a, LAST_MONTH) == (1, 0)
    assert totals_at(indicator, world.village_a, THIS_MONTH) == (1, 0)
    assert not IndicatorValue.objects.filter(indicator=indicator, node=world.village_b).exists()


def test_stock_carries_earlier_records_and_path_sources_roll_up_the_same(world):
    _created(world.person_a, LAST_MONTH - dt.timedelta(days=70))
    _created(world.person_b, THIS_MONTH)
    by_node = factories.indicator(
        "people_stock", Measure(factories.PEOPLE_BY_NODE, date_field="created_at", window="cumulative"), None, unit="count"
    )
    by_path = factories.indicator(
        "people_stock_path", Measure(factories.PEOPLE_BY_PATH, date_field="created_at", window="cumulative"), None,
        unit="count",
    )
    for item in (by_node, by_path):
        indicator_recompute(indicator=item, first=LAST_MONTH)
        assert totals_at(item, world.district, LAST_MONTH) == (1, 0)
        assert totals_at(item, world.district, THIS_MONTH) == (2, 0)
        assert totals_at(item, world.town_b, THIS_MONTH) == (1, 0)
        assert not IndicatorValue.objects.filter(indicator=item, node=world.town_b, period_start=LAST_MONTH).exists()


def test_filters_select_records(world):
    base.person(world.village_a, name="王芳", sex="F")
    women = factories.indicator(
        "women", Measure(factories.PEOPLE_BY_NODE, date_field="created_at", filters={"sex": "F"}),
        Measure(factories.PEOPLE_BY_NODE, date_field="created_at"),
    )
    indicator_recompute(indicator=women, first=THIS_MONTH)
    assert totals_at(women, world.village_a, THIS_MONTH) == (1, 2)
    assert totals_at(women, world.district, THIS_MONTH) == (1, 3)


def test_region_limits_the_indicator_to_a_subtree(world, test_sources):
    test_sources.add(world.village_a, LAST_MONTH, 1, 1)
    test_sources.add(world.village_b, LAST_MONTH, 1, 2)
    indicator = factories.table_indicator(region_code=world.town_b.code)
    indicator_recompute(indicator=indicator, first=LAST_MONTH, last=LAST_MONTH)
    assert stored(indicator) == {
        (world.town_b.pk, LAST_MONTH): (1, 2, 0, 0),
        (world.village_b.pk, LAST_MONTH): (1, 2, 1, 2),
    }


def test_validity_dates_limit_the_periods(world, test_sources):
    test_sources.add(world.village_a, LAST_MONTH, 1, 1)
    indicator = factories.table_indicator(valid_from=THIS_MONTH)
    indicator_recompute(indicator=indicator, first=LAST_MONTH)
    assert sorted(set(IndicatorValue.objects.filter(indicator=indicator).values_list("period_start", flat=True))) == [
        THIS_MONTH
    ]


# --- as of a day -------------------------------------------------------------------------------


def test_running_period_is_cut_at_today_and_closed_ones_at_their_end(world, test_sources):
    test_sources.add(world.village_a, LAST_MONTH, 1, 1)
    indicator = factories.table_indicator()
    indicator_recompute(indicator=indicator, first=LAST_MONTH)
    as_of = dict(IndicatorValue.objects.filter(indicator=indicator, node=world.district).values_list("period_start", "as_of"))
    assert as_of == {LAST_MONTH: period_end("month", LAST_MONTH), THIS_MONTH: TODAY}


def test_as_of_counts_only_what_was_known_by_the_day(world):
    # Registered on the 10th and the 20th of last month: as of the 15th only the first counts.
    tenth, twentieth = LAST_MONTH + dt.timedelta(days=9), LAST_MONTH + dt.timedelta(days=19)
    _created(world.person_a, tenth)
    _created(world.person_b, twentieth)
    indicator = factories.indicator("registered", Measure(factories.PEOPLE_BY_NODE, date_field="created_at"), None,
                                    unit="count")
    fifteenth = LAST_MONTH + dt.timedelta(days=14)
    totals, _nodes = compute(indicator, [Cut(LAST_MONTH, fifteenth)])
    assert totals[(world.district.pk, LAST_MONTH)].numerator == 1
    totals, _nodes = compute(indicator, [Cut(LAST_MONTH, twentieth)])
    assert totals[(world.district.pk, LAST_MONTH)].numerator == 2
    totals, _nodes = compute(indicator, [Cut(LAST_MONTH, twentieth)], prefix=world.town_b.path)
    assert (world.district.pk, LAST_MONTH) in totals  # ancestors are added to, but only the subtree is read
    assert totals[(world.town_b.pk, LAST_MONTH)].numerator == 1
    assert (world.town_a.pk, LAST_MONTH) not in totals


def test_coverage_as_of_follows_effective_dated_assignments(world):
    from civicgrid.indicators.models import Indicator
    from civicgrid.indicators.services import indicators_sync_builtins
    from civicgrid.territory.models import ResponsibilityRole
    from civicgrid.territory.services import assignment_end, assignment_start

    cadre = base.person(world.village_a, name="孙为民")
    start = LAST_MONTH + dt.timedelta(days=9)
    assignment = assignment_start(actor=None, person=cadre, node=world.village_a, role=ResponsibilityRole.VILLAGE_CADRE,
                                  valid_from=start)
    assignment_end(actor=None, assignment=assignment, valid_to=THIS_MONTH)  # exclusive: gone from the 1st
    indicators_sync_builtins()
    coverage = Indicator.objects.get(code="responsibility_coverage")
    # Nodes needing a holder: two towns and two villages. Before the 10th: none covered.
    before, _ = compute(coverage, [Cut(LAST_MONTH, start - dt.timedelta(days=1))])
    on, _ = compute(coverage, [Cut(LAST_MONTH, start)])
    assert (before[(world.district.pk, LAST_MONTH)].numerator, before[(world.district.pk, LAST_MONTH)].denominator) == (0, 4)
    assert (on[(world.district.pk, LAST_MONTH)].numerator, on[(world.district.pk, LAST_MONTH)].denominator) == (1, 4)
    assert on[(world.village_a.pk, LAST_MONTH)].own_numerator == 1
    # Stored: last month as of its last day (covered); this month as of today (the term ended).
    indicator_recompute(indicator=coverage, first=LAST_MONTH)
    assert totals_at(coverage, world.village_a, LAST_MONTH) == (1, 1)
    assert totals_at(coverage, world.village_a, THIS_MONTH) == (0, 1)


# --- incremental updates -----------------------------------------------------------------------


def test_notify_updates_the_node_and_its_ancestors(world, test_sources):
    indicator = factories.table_indicator()
    indicator_recompute(indicator=indicator, first=LAST_MONTH)
    test_sources.add(world.village_a, LAST_MONTH + dt.timedelta(days=3), 2, 5)
    notify_changed(source=factories.TABLE, node_id=world.village_a.pk, day=LAST_MONTH + dt.timedelta(days=3))
    # A snapshot lasts: last month and this month both change, at the village, its town and the district.
    for start in (LAST_MONTH, THIS_MONTH):
        assert totals_at(indicator, world.village_a, start) == (2, 5)
        assert totals_at(indicator, world.town_a, start) == (2, 5)
        assert totals_at(indicator, world.district, start) == (2, 5)
    assert not IndicatorValue.objects.filter(indicator=indicator, node=world.town_b).exists()
    assert indicator.__class__.objects.get(pk=indicator.pk).revision == 1


def test_notify_ignores_other_sources_future_days_and_unknown_nodes(world, test_sources):
    indicator = factories.table_indicator()
    indicator_recompute(indicator=indicator, first=LAST_MONTH)
    before = stored(indicator)
    test_sources.add(world.village_a, LAST_MONTH, 2, 5)
    notify_changed(source="cases.case", node_id=world.village_a.pk, day=LAST_MONTH)
    notify_changed(source=factories.TABLE, node_id=world.village_a.pk, day=TODAY + dt.timedelta(days=1))
    notify_changed(source=factories.TABLE, node_id=10**9, day=LAST_MONTH)
    assert stored(indicator) == before


def test_notify_recounts_a_running_period_counted_through_an_earlier_day(world, test_sources):
    indicator = factories.table_indicator()
    indicator_recompute(indicator=indicator, first=THIS_MONTH)
    IndicatorValue.objects.filter(indicator=indicator).update(as_of=THIS_MONTH - dt.timedelta(days=1))
    test_sources.add(world.village_b, THIS_MONTH, 1, 3)
    test_sources.add(world.village_a, THIS_MONTH, 1, 1)  # not notified, but the recount takes it in
    notify_changed(source=factories.TABLE, node_id=world.village_b.pk, day=THIS_MONTH)
    assert totals_at(indicator, world.district, THIS_MONTH) == (2, 4)
    assert set(IndicatorValue.objects.filter(indicator=indicator).values_list("as_of", flat=True)) == {TODAY}


def test_flow_change_touches_only_its_own_period(world):
    indicator = factories.indicator("registered", Measure(factories.PEOPLE_BY_NODE, date_field="created_at"), None,
                                    unit="count")
    _created(world.person_a, LAST_MONTH - dt.timedelta(days=50))
    _created(world.person_b, LAST_MONTH - dt.timedelta(days=50))
    indicator_recompute(indicator=indicator, first=LAST_MONTH)
    _created(world.person_a, LAST_MONTH + dt.timedelta(days=2))
    notify_changed(source=factories.PEOPLE_BY_NODE, node_id=world.village_a.pk, day=LAST_MONTH + dt.timedelta(days=2))
    assert totals_at(indicator, world.district, LAST_MONTH) == (1, 0)
    assert totals_at(indicator, world.district, THIS_MONTH) == (0, 0)


CHANGE_DAYS = [LAST_MONTH - dt.timedelta(days=31), LAST_MONTH, LAST_MONTH + dt.timedelta(days=12), THIS_MONTH, TODAY]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(changes=st.lists(
    st.tuples(st.integers(0, 4), st.sampled_from(CHANGE_DAYS), st.integers(0, 9), st.integers(0, 9), st.booleans()),
    min_size=1, max_size=8,
))
def test_incremental_updates_equal_a_full_recompute(world, test_sources, changes):
    """After any sequence of changes, each notified, the stored rows equal a fresh full recompute.
    The table source is a snapshot (changes last) and the people source a flow."""
    nodes = [world.district, world.town_a, world.town_b, world.village_a, world.village_b]
    with transaction.atomic():
        test_sources.facts.clear()
        test_sources.add(world.village_a, LAST_MONTH, 1, 2)
        table = factories.table_indicator()
        people = factories.indicator("registered", Measure(factories.PEOPLE_BY_NODE, date_field="created_at"),
                                     Measure(factories.PEOPLE_BY_NODE, date_field="birth_date", window="cumulative"))
        first = LAST_MONTH - dt.timedelta(days=31)
        for item in (table, people):
            indicator_recompute(indicator=item, first=first)
        for index, day, numerator, denominator, register_person in changes:
            node = nodes[index]
            if register_person:
                person = base.person(node, name="新登记")
                _created(person, day)
                notify_changed(source=factories.PEOPLE_BY_NODE, node_id=node.pk, day=day)
                notify_changed(source=factories.PEOPLE_BY_NODE, node_id=node.pk, day=person.birth_date)
            else:
                test_sources.add(node, day, numerator, denominator)
                notify_changed(source=factories.TABLE, node_id=node.pk, day=day)
        incremental = {item.code: stored(item) for item in (table, people)}
        for item in (table, people):
            indicator_recompute(indicator=item, first=first)
        assert incremental == {item.code: stored(item) for item in (table, people)}
        transaction.set_rollback(True)
