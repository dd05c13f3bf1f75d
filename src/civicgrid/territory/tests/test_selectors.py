"""Territory selectors: scope (inside, outside, grant on a parent), coverage as of a date, the tree
facts, breadcrumbs and path labels, point lookup, and the system-actor reads of the console."""

import datetime as dt

import pytest
from django.http import Http404

from civicgrid.accounts.roles import Role
from civicgrid.territory import selectors
from civicgrid.territory.models import NodeKind, ResponsibilityRole
from civicgrid.territory.services import assignment_end, assignment_start, node_update
from civicgrid.testing import factories

D2024 = dt.date(2024, 1, 1)


def square(x0, y0, x1, y1):
    return {"type": "Polygon", "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]}


@pytest.fixture
def village_user(world):
    return factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="village_a_cadre")


def cover(world, node, role, day=D2024, person=None):
    return assignment_start(actor=None, person=person or world.person_a, node=node, role=role, valid_from=day)


def test_node_list_is_scoped_for_inside_outside_and_parent_grant(world, admin_user, town_a_user, village_user):
    assert {n.code for n in selectors.node_list(actor=admin_user)} == {
        "371571", "371571100", "371571101", "371571100201", "371571101201"
    }
    assert {n.code for n in selectors.node_list(actor=town_a_user)} == {"371571100", "371571100201"}
    assert {n.code for n in selectors.node_list(actor=village_user)} == {"371571100201"}
    with pytest.raises(Http404):
        selectors.node_get(actor=town_a_user, pk=world.village_b.pk)
    assert selectors.node_get(actor=town_a_user, pk=world.village_a.pk) == world.village_a


def test_coverage_gains_and_loses_a_node_when_assignments_start_and_end(world, admin_user):
    on = dt.date(2024, 6, 1)
    before = {n.code for n in selectors.coverage_gaps(actor=admin_user, on=on)}
    assert before == {"371571100", "371571101", "371571100201", "371571101201"}  # the district needs no holder

    assignment = cover(world, world.village_a, ResponsibilityRole.VILLAGE_CADRE)
    after_start = {n.code for n in selectors.coverage_gaps(actor=admin_user, on=on)}
    assert after_start == before - {"371571100201"}
    assert selectors.coverage_summary(actor=admin_user, on=on) == {
        "needing": 4, "gaps": 3, "covered": 1, "percent": 25.0
    }

    assignment_end(actor=None, assignment=assignment, valid_to=dt.date(2024, 3, 1))
    assert {n.code for n in selectors.coverage_gaps(actor=admin_user, on=on)} == before
    # As of a day inside the ended period the village was covered.
    assert "371571100201" not in {n.code for n in selectors.coverage_gaps(actor=admin_user, on=dt.date(2024, 2, 1))}
    # ... and not before the period began.
    assert "371571100201" in {n.code for n in selectors.coverage_gaps(actor=admin_user, on=dt.date(2023, 12, 31))}


def test_coverage_needs_the_required_role_as_primary(world, admin_user):
    on = dt.date(2024, 6, 1)
    cover(world, world.village_a, ResponsibilityRole.GRID_WORKER)  # wrong role for a village
    assignment_start(
        actor=None, person=world.person_b, node=world.town_a, role=ResponsibilityRole.TOWN_LEADER,
        valid_from=D2024, is_primary=False,
    )
    gaps = {n.code for n in selectors.coverage_gaps(actor=admin_user, on=on)}
    assert {"371571100201", "371571100"} <= gaps


def test_coverage_of_a_subtree_and_of_a_smaller_scope(world, admin_user, town_a_user):
    cover(world, world.village_a, ResponsibilityRole.VILLAGE_CADRE)
    assert [n.code for n in selectors.coverage_gaps(actor=admin_user, root=world.town_b)] == [
        "371571101", "371571101201"
    ]
    assert selectors.coverage_summary(actor=town_a_user) == {"needing": 2, "gaps": 1, "covered": 1, "percent": 50.0}
    assert selectors.coverage_summary(actor=None) == {"needing": 0, "gaps": 0, "covered": 0, "percent": 100.0}


def test_tree_level_annotates_coverage_and_children(world, admin_user, town_a_user):
    cover(world, world.town_a, ResponsibilityRole.TOWN_LEADER)
    roots = list(selectors.node_tree_level(actor=admin_user))
    assert [(n.code, n.needs_holder, n.has_children) for n in roots] == [("371571", False, True)]
    towns = {n.code: n for n in selectors.node_tree_level(actor=admin_user, parent=world.district)}
    assert (towns["371571100"].is_covered, towns["371571101"].is_covered) == (True, False)
    villages = list(selectors.node_tree_level(actor=town_a_user, parent=world.town_a))
    assert [(n.code, n.has_children, n.is_covered) for n in villages] == [("371571100201", False, False)]
    assert [n.code for n in selectors.node_tree_level(actor=town_a_user)] == ["371571100"]


def test_node_family_is_the_nodes_and_their_children_in_scope(world, admin_user, town_a_user):
    assert [n.code for n in selectors.node_family(actor=admin_user, nodes=[world.district])] == [
        "371571", "371571100", "371571101"
    ]
    # town B's village is not town A's officer's to see even if asked for.
    assert [n.code for n in selectors.node_family(actor=town_a_user, nodes=[world.town_a, world.town_b])] == [
        "371571100", "371571100201"
    ]


def test_breadcrumb_stops_at_the_granted_node(world, admin_user, town_a_user):
    assert [n.name for n in selectors.node_ancestors_in_scope(actor=admin_user, node=world.village_a)] == [
        "高新区", "顾官屯镇"
    ]
    assert [n.name for n in selectors.node_ancestors_in_scope(actor=town_a_user, node=world.village_a)] == ["顾官屯镇"]


def test_path_labels_name_the_visible_ancestors(world, admin_user, town_a_user):
    nodes = [world.village_a, world.town_a, world.district]
    assert selectors.node_path_labels(actor=admin_user, nodes=nodes) == {
        world.village_a.pk: "高新区 / 顾官屯镇", world.town_a.pk: "高新区", world.district.pk: ""
    }
    assert selectors.node_path_labels(actor=town_a_user, nodes=[world.village_a]) == {world.village_a.pk: "顾官屯镇"}
    assert selectors.node_path_labels_for_system(nodes=[world.village_b]) == {world.village_b.pk: "高新区 / 许营镇"}


def test_node_at_point_returns_the_deepest_node_in_scope(world, admin_user, town_a_user):
    node_update(actor=None, node=world.district, geometry=square(116.0, 36.0, 116.4, 36.4))
    node_update(actor=None, node=world.town_a, geometry=square(116.0, 36.0, 116.2, 36.4))
    node_update(actor=None, node=world.village_a, geometry=square(116.05, 36.05, 116.15, 36.15))
    node_update(actor=None, node=world.town_b, geometry=square(116.2, 36.0, 116.4, 36.4))
    assert selectors.node_at_point(actor=admin_user, lon=116.1, lat=36.1) == world.village_a
    assert selectors.node_at_point(actor=admin_user, lon=116.1, lat=36.3) == world.town_a
    assert selectors.node_at_point(actor=admin_user, lon=116.3, lat=36.3) == world.town_b
    assert selectors.node_at_point(actor=admin_user, lon=117.0, lat=36.3) is None
    # In town B, but town B is not in town A's officer's scope.
    assert selectors.node_at_point(actor=town_a_user, lon=116.3, lat=36.3) is None


def test_node_at_point_matches_a_road_line_within_tolerance(world, admin_user):
    brigade = factories.node(world.district, NodeKind.BRIGADE, "开发区交警大队", code="B1")
    zone = factories.node(brigade, NodeKind.ZONE, "东片", code="B1Z1")
    line = factories.node(
        zone, NodeKind.LINE, "东昌东路", code="B1Z1L1",
        geometry={"type": "LineString", "coordinates": [[116.00, 36.45], [116.10, 36.45]]},
    )
    assert selectors.node_at_point(actor=admin_user, lon=116.05, lat=36.4501) == line
    assert selectors.node_at_point(actor=admin_user, lon=116.05, lat=36.46) is None


def test_node_overview_gathers_the_page_and_404s_outside(world, town_a_user):
    first = cover(world, world.village_a, ResponsibilityRole.VILLAGE_CADRE, day=dt.date(2023, 1, 1))
    second = assignment_start(
        actor=None, person=world.person_b, node=world.village_a, role=ResponsibilityRole.VILLAGE_CADRE,
        valid_from=dt.date(2024, 1, 1),
    )
    leader = cover(world, world.town_a, ResponsibilityRole.TOWN_LEADER)
    overview = selectors.node_overview(actor=town_a_user, pk=world.village_a.pk, on=dt.date(2024, 6, 1))
    assert overview.node == world.village_a
    assert overview.ancestors == [world.town_a]
    assert overview.current == [second]
    assert overview.history == [second, first]
    assert overview.chain == [second, leader]
    assert overview.children == []
    assert overview.summary == {"needing": 1, "gaps": 0, "covered": 1, "percent": 100.0}
    with pytest.raises(Http404):
        selectors.node_overview(actor=town_a_user, pk=world.village_b.pk)


def test_assignment_list_by_person_and_assignment_get_are_scoped(world, admin_user, town_a_user):
    in_a = cover(world, world.village_a, ResponsibilityRole.VILLAGE_CADRE)
    in_b = cover(world, world.village_b, ResponsibilityRole.VILLAGE_CADRE)
    assert list(selectors.assignment_list(actor=admin_user, person=world.person_a).order_by("pk")) == [in_a, in_b]
    assert list(selectors.assignment_list(actor=town_a_user, person=world.person_a)) == [in_a]
    assert selectors.assignment_get(actor=town_a_user, pk=in_a.pk) == in_a
    with pytest.raises(Http404):
        selectors.assignment_get(actor=town_a_user, pk=in_b.pk)


def test_node_choices_leave_out_leaves_unless_asked(world, admin_user):
    factories.node(world.village_a, NodeKind.GRID, "一网格", code="G1")
    assert [n.code for n in selectors.node_choices(actor=admin_user)] == [
        "371571", "371571100", "371571100201", "371571101", "371571101201"
    ]
    assert "G1" in {n.code for n in selectors.node_choices(actor=admin_user, leaves=True)}


def test_system_reads_see_the_whole_tree(world):
    other_root = factories.node(None, NodeKind.DISTRICT, "东昌府区", code="371502")
    assert [n.code for n in selectors.node_roots_for_system()] == ["371571", "371502"]
    assert selectors.node_get_by_code_for_system(" 371571100 ") == world.town_a
    assert selectors.node_get_by_code_for_system("nope") is None
    assert [n.code for n in selectors.coverage_gaps_for_system(root=world.town_a)] == ["371571100", "371571100201"]
    assert selectors.coverage_summary_for_system() == {"needing": 4, "gaps": 4, "covered": 0, "percent": 0.0}
    cover(world, world.town_a, ResponsibilityRole.TOWN_LEADER)
    assert selectors.coverage_summary_for_system(root=world.town_a) == {
        "needing": 2, "gaps": 1, "covered": 1, "percent": 50.0
    }
    assert other_root.pk not in {n.pk for n in selectors.coverage_gaps_for_system()}
