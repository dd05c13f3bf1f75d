"""Day rows (IndicatorDay): an "as of" day inside a period read from the stored days equals the same
day counted from the registries and counted by hand from the records, for random records and days —
after a full recompute, after incremental updates (records moved to another day or node, records
whose filtered attributes changed after the day asked about), and scoped like the period values."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import pytest
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.indicators.models import Indicator, IndicatorDay
from civicgrid.indicators.periods import Cut, period_end, period_start
from civicgrid.indicators.registry import Measure
from civicgrid.indicators.selectors import indicator_as_of
from civicgrid.indicators.services import (
    compute,
    compute_days,
    indicator_recompute,
    keeps_days,
    notify_changed,
)
from civicgrid.indicators.tests import factories
from civicgrid.people.models import Person
from civicgrid.territory.models import Node, NodeKind
from civicgrid.testing import factories as base

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate()
THIS_MONTH = period_start("month", TODAY)
LAST_MONTH = period_start("month", THIS_MONTH - dt.timedelta(days=1))
FIRST = period_start("month", LAST_MONTH - dt.timedelta(days=1))  # two months back


def _tree(world: Any) -> list[Node]:
    """district → towns A, B → villages (2 and 1) → grids (2 under the first village): 4 levels."""
    village_a2 = base.node(world.town_a, NodeKind.VILLAGE, "东寨村")
    grids = [base.node(world.village_a, NodeKind.GRID, f"网格{index}") for index in (1, 2)]
    return [world.district, world.town_a, world.town_b, world.village_a, village_a2, world.village_b, *grids]


def _flow_indicator(**fields: Any) -> Indicator:
    """Women still registered ÷ everyone, by birth day (a flow over a model source with a filter
    that changes after the fact: a deletion after day D still removes the person as of D)."""
    return factories.indicator(
        "born_rate",
        Measure(factories.PEOPLE_BY_NODE, date_field="birth_date", filters={"sex": "F", "deleted_at__isnull": True}),
        Measure(factories.PEOPLE_BY_NODE, date_field="birth_date"),
        **fields,
    )


def _random_day(rng: random.Random, first: dt.date = FIRST, last: dt.date = TODAY) -> dt.date:
    return first + dt.timedelta(days=rng.randrange((last - first).days + 1))


def _people(rng: random.Random, nodes: list[Node], count: int) -> None:
    for index in range(count):
        base.person(rng.choice(nodes), name=f"人{index}", birth_date=_random_day(rng), sex=rng.choice("MF"))


def _by_hand(node: Node, start: dt.date, day: dt.date) -> tuple[int, int]:
    """The definition, in Python: records of the subtree dated in [start, day], filters as they are now."""
    numerator = denominator = 0
    for person in Person.objects.select_related("address_node"):
        if not person.address_node.path.startswith(node.path) or not start <= person.birth_date <= day:
            continue
        denominator += 1
        numerator += person.sex == "F" and person.deleted_at is None
    return numerator, denominator


def _admin() -> Any:
    district = Node.objects.get(parent__isnull=True)
    return base.user_with_scope(Role.COUNTY_ADMIN, district, username="county")


def _check(indicator: Indicator, nodes: list[Node], days: list[dt.date], levels: int) -> int:
    """As of each day, at each node with its children: the readings equal the count by hand and the
    registries' count; where the node and its children keep day rows and the day is not a stored cut
    day, they came from the day rows. Returns how many readings came from the day rows."""
    actor = _admin()
    from_days = 0
    for day in days:
        start = period_start("month", day)
        counted, _places = compute(indicator, [Cut(start, day)])
        for node in nodes:
            node = Node.objects.get(pk=node.pk)
            children = list(Node.objects.filter(parent=node).order_by("code"))
            found = indicator_as_of(actor=actor, indicator=indicator, node=node, children=children, day=day)
            got = {node.pk: (found.reading.numerator, found.reading.denominator)}
            got.update({row.node.pk: (row.reading.numerator, row.reading.denominator) for row in found.children})
            for pk, value in got.items():
                place = Node.objects.get(pk=pk)
                registry = counted.get((pk, start))
                assert value == _by_hand(place, start, day), (day, place.name, found.from_days)
                assert value == ((registry.numerator, registry.denominator) if registry else (0, 0))
            stored_cut = day == period_end("month", start)
            if node.depth + (1 if children else 0) <= levels and not stored_cut:
                assert found.from_days, (day, node.name)
            from_days += found.from_days
            if found.from_days:
                assert not found.computed
    return from_days


@pytest.mark.parametrize("levels", [1, 2])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_as_of_from_day_rows_equals_the_registries(world, settings, levels, seed):
    settings.CIVICGRID_INDICATOR_DAY_LEVELS = levels
    rng = random.Random(seed)
    nodes = _tree(world)
    _people(rng, nodes, 40)
    indicator = _flow_indicator()
    assert keeps_days(indicator)
    indicator_recompute(indicator=indicator, first=FIRST)
    # Rows only down to the day levels, a marker row at the top for every day stored.
    assert not IndicatorDay.objects.filter(indicator=indicator, depth__gt=levels).exists()
    assert IndicatorDay.objects.filter(indicator=indicator, node=world.district).count() == (TODAY - FIRST).days + 1
    days = sorted({_random_day(rng) for _index in range(6)} | {period_end("month", LAST_MONTH)})
    assert _check(indicator, nodes, days, levels) > 0

    # Incremental updates: moved to another day, to another node, deleted (after the days asked
    # about), and new records — each notified for its old and new (node, day), as the domain does.
    people = list(Person.objects.all())
    for number, person in enumerate(rng.sample(people, 12)):
        old_node, old_day = person.address_node_id, person.birth_date
        action = rng.choice(["day", "node", "delete"])
        if action == "day":
            Person.objects.filter(pk=person.pk).update(birth_date=_random_day(rng))
        elif action == "node":
            target = rng.choice(nodes)
            Person.objects.filter(pk=person.pk).update(address_node=target, scope_path=target.path)
        else:
            Person.objects.filter(pk=person.pk).update(deleted_at=timezone.now())
        person.refresh_from_db()
        touched = {(old_node, old_day), (person.address_node_id, person.birth_date)}
        if number % 2:  # one call per (node, day) ...
            for node_id, day in touched:
                notify_changed(source=factories.PEOPLE_BY_NODE, node_id=node_id, day=day)
        else:  # ... or one per node with all its days
            for node_id in {node_id for node_id, _day in touched}:
                notify_changed(source=factories.PEOPLE_BY_NODE, node_id=node_id,
                               days=[day for other, day in touched if other == node_id])
    for index in range(5):
        added = base.person(rng.choice(nodes), name=f"新{index}", birth_date=_random_day(rng), sex="F")
        notify_changed(source=factories.PEOPLE_BY_NODE, node_id=added.address_node_id, day=added.birth_date)
    _check(indicator, nodes, days, levels)
    # And the stored day rows equal a fresh computation of them.
    fresh = compute_days(indicator, [Cut(start, min(period_end("month", start), TODAY))
                                     for start in (FIRST, LAST_MONTH, THIS_MONTH)])
    rows = IndicatorDay.objects.filter(indicator=indicator)
    stored = {(row.node_id, row.day): [row.numerator, row.denominator, row.own_numerator, row.own_denominator]
              for row in rows}
    assert {key: value for key, value in stored.items() if any(value)} == {
        key: value for key, value in fresh.items() if any(value)
    }


def test_a_day_not_stored_is_counted_from_the_registries(world):
    nodes = _tree(world)
    _people(random.Random(7), nodes, 20)
    indicator = _flow_indicator()
    indicator_recompute(indicator=indicator, first=LAST_MONTH)  # FIRST's month not stored
    day = FIRST + dt.timedelta(days=10)
    found = indicator_as_of(actor=_admin(), indicator=indicator, node=world.district, children=[world.town_a], day=day)
    assert (found.from_days, found.computed) == (False, True)
    assert (found.reading.numerator, found.reading.denominator) == _by_hand(world.district, FIRST, day)


def test_only_flows_keep_day_rows(world):
    stock = factories.indicator(
        "born_total", Measure(factories.PEOPLE_BY_NODE, date_field="birth_date", window="cumulative"), None,
        unit="count",
    )
    snapshot = factories.table_indicator()
    daily = _flow_indicator(period="day")
    for indicator in (stock, snapshot, daily):
        assert not keeps_days(indicator)
        indicator_recompute(indicator=indicator, first=LAST_MONTH)
    assert not IndicatorDay.objects.exists()


def test_region_keeps_day_rows_from_its_node_down(world, settings):
    settings.CIVICGRID_INDICATOR_DAY_LEVELS = 1
    nodes = _tree(world)
    rng = random.Random(11)
    _people(rng, nodes, 30)
    indicator = _flow_indicator(region_code=world.town_a.code)
    indicator_recompute(indicator=indicator, first=FIRST)
    depths = set(IndicatorDay.objects.filter(indicator=indicator).values_list("depth", flat=True))
    assert depths <= {1, 2}
    assert 1 in depths
    days = sorted({_random_day(rng) for _index in range(4)})
    actor = _admin()
    for day in days:
        found = indicator_as_of(actor=actor, indicator=indicator, node=world.town_a,
                                children=list(Node.objects.filter(parent=world.town_a)), day=day)
        assert (found.reading.numerator, found.reading.denominator) == _by_hand(world.town_a, period_start("month", day), day)
        if day != period_end("month", period_start("month", day)):
            assert found.from_days


def test_day_rows_are_scoped_like_values(world):
    nodes = _tree(world)
    _people(random.Random(5), nodes, 30)
    indicator = _flow_indicator()
    indicator_recompute(indicator=indicator, first=FIRST)
    officer = base.user_with_scope(Role.TOWN_OFFICER, world.town_a, username="town_a")
    day = LAST_MONTH + dt.timedelta(days=13)
    # The town officer sees town A; the district's and town B's rows are not read for them.
    found = indicator_as_of(actor=officer, indicator=indicator, node=world.town_a, children=[], day=day)
    assert found.from_days
    assert (found.reading.numerator, found.reading.denominator) == _by_hand(world.town_a, LAST_MONTH, day)
    from civicgrid.indicators.policies import day_policy

    assert {row.scope_path[: len(world.town_a.path)] for row in day_policy.viewable(officer)} == {world.town_a.path}


def test_days_of_a_datetime_field_are_local_days(world):
    """A datetime date field is placed by its local day (the scans by CASE, not by the date itself)."""
    nodes = _tree(world)
    rng = random.Random(3)
    _people(rng, nodes, 25)
    for person in Person.objects.all():
        moment = timezone.make_aware(dt.datetime.combine(_random_day(rng), dt.time(rng.randrange(24), 30)))
        Person.objects.filter(pk=person.pk).update(created_at=moment)
    indicator = factories.indicator(
        "registered_rate", Measure(factories.PEOPLE_BY_NODE, date_field="created_at", filters={"sex": "F"}),
        Measure(factories.PEOPLE_BY_NODE, date_field="created_at"),
    )
    indicator_recompute(indicator=indicator, first=FIRST)
    actor = _admin()
    for day in sorted({_random_day(rng) for _index in range(5)}):
        start = period_start("month", day)
        found = indicator_as_of(actor=actor, indicator=indicator, node=world.district,
                                children=[world.town_a, world.town_b], day=day)
        people = [person for person in Person.objects.all() if start <= timezone.localdate(person.created_at) <= day]
        assert (found.reading.numerator, found.reading.denominator) == (
            sum(person.sex == "F" for person in people), len(people)
        )
        if day != period_end("month", start):
            assert found.from_days


def test_by_day_scan_equals_the_day_cuts(world):
    from civicgrid.indicators.engine import own_values_by_day, own_values_many

    nodes = _tree(world)
    _people(random.Random(9), nodes, 30)
    measures = [Measure(factories.PEOPLE_BY_NODE, date_field="birth_date", filters={"sex": "F"}),
                Measure(factories.PEOPLE_BY_PATH, date_field="birth_date")]
    days = [LAST_MONTH + dt.timedelta(days=offset) for offset in range(31)
            if LAST_MONTH + dt.timedelta(days=offset) <= TODAY]
    by_day = own_values_by_day(measures, days[0], days[-1])
    by_cuts = own_values_many(measures, "day", [Cut(day, day) for day in days])
    assert by_day == by_cuts
    assert any(by_day)
