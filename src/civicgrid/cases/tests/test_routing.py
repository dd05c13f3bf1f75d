"""Routing to the node's current primary holder of its kind's role, and the escalation chain."""

from __future__ import annotations

import datetime as dt

import pytest

from civicgrid.cases.routing import escalation_targets, route_case
from civicgrid.people.services import person_delete
from civicgrid.territory.models import NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_end, assignment_start
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 5, 20)


def test_post_routes_to_its_primary_officer_with_account_not_the_auxiliary(grid):
    routing = route_case(grid.post, on=TODAY)
    assert (routing.person, routing.account, routing.reason) == (grid.officer, grid.officer_user, "")


def test_routing_follows_the_assignment_in_force_on_the_day(grid, world):
    successor = factories.person(world.village_a, name="赵新民")
    assignment_start(actor=None, person=successor, node=grid.post, role=ResponsibilityRole.POST_OFFICER,
                     valid_from=dt.date(2026, 6, 1))
    assert route_case(grid.post, on=dt.date(2026, 5, 31)).person == grid.officer
    after = route_case(grid.post, on=dt.date(2026, 6, 1))
    assert (after.person, after.account) == (successor, None)  # recorded, though without an account


def test_only_the_role_the_kind_requires_routes(grid, world):
    # A village cadre assigned at a post does not make the post routable.
    other = factories.person(world.village_a, name="钱多多")
    assignment_start(actor=None, person=other, node=grid.vacant_post, role=ResponsibilityRole.VILLAGE_CADRE,
                     valid_from=dt.date(2024, 1, 1))
    routing = route_case(grid.vacant_post, on=TODAY)
    assert routing.person is None
    assert routing.reason == "东昌东路·嫩江路口当前没有包点段民警（第一责任人）"


def test_kinds_without_a_role_and_ended_or_deleted_holders_do_not_route(grid, world):
    assert route_case(world.district, on=TODAY).reason.startswith("“区县/开发区”类节点没有包干责任角色")
    assignment = grid.officer.assignments.get(is_primary=True)
    assignment_end(actor=None, assignment=assignment, valid_to=dt.date(2026, 1, 1))
    assert route_case(grid.post, on=TODAY).person is None
    assert route_case(grid.post, on=dt.date(2025, 12, 31)).person == grid.officer


def test_inactive_account_is_not_the_assignee(grid):
    grid.officer_user.is_active = False
    grid.officer_user.save()
    routing = route_case(grid.post, on=TODAY)
    assert (routing.person, routing.account) == (grid.officer, None)


def test_deleted_person_is_not_routed(grid, world):
    person_delete(actor=None, person=grid.officer, reason="调离")
    assert route_case(grid.post, on=TODAY).person is None


def test_escalation_chain_post_line_zone_brigade(grid):
    targets = escalation_targets(grid.post, on=TODAY, exclude_person_id=grid.officer.pk)
    assert [(a.person.name, a.role) for a in targets] == [
        ("李卫东", ResponsibilityRole.LINE_LEADER), ("韩东明", ResponsibilityRole.ZONE_LEADER),
        ("周大队", ResponsibilityRole.BRIGADE_HEAD),
    ]


def test_escalation_chain_grid_village_town_skips_vacancies_and_repeats(world):
    grid_node = factories.node(world.village_a, NodeKind.GRID, "枣寨村第一网格")
    worker = factories.person(world.village_a, name="网格员甲")
    cadre = factories.person(world.village_a, name="包村干部乙")
    leader = factories.person(world.village_a, name="包镇领导丙")
    since = dt.date(2024, 1, 1)
    assignment_start(actor=None, person=worker, node=grid_node, role=ResponsibilityRole.GRID_WORKER, valid_from=since)
    assignment_start(actor=None, person=cadre, node=world.village_a, role=ResponsibilityRole.VILLAGE_CADRE,
                     valid_from=since)
    # A household helper on the village is not the village's escalation step.
    assignment_start(actor=None, person=factories.person(world.village_a, name="帮扶人丁"), node=world.village_a,
                     role=ResponsibilityRole.HOUSEHOLD_HELPER, valid_from=since)
    assignment_start(actor=None, person=leader, node=world.town_a, role=ResponsibilityRole.TOWN_LEADER,
                     valid_from=since)
    names = [a.person.name for a in escalation_targets(grid_node, on=TODAY, exclude_person_id=worker.pk)]
    assert names == ["包村干部乙", "包镇领导丙"]
    # The same person holding the town too appears once; a vacant village is skipped.
    assignment_start(actor=None, person=cadre, node=world.town_a, role=ResponsibilityRole.TOWN_LEADER,
                     valid_from=dt.date(2025, 1, 1))
    assert [a.person.name for a in escalation_targets(grid_node, on=TODAY, exclude_person_id=worker.pk)] == ["包村干部乙"]
