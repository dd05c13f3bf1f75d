"""Assignment services: one current primary per node and role with history kept, the end date rules,
scope and permission refusals, and the audit rows."""

import datetime as dt

import pytest
from django.utils import translation

from civicgrid.accounts.roles import Role
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.territory.models import Assignment, ResponsibilityRole
from civicgrid.territory.services import assignment_end, assignment_start
from civicgrid.testing import factories

CADRE = ResponsibilityRole.VILLAGE_CADRE


def test_a_new_primary_ends_the_current_one_on_its_start_date(world, town_a_user):
    first = assignment_start(actor=town_a_user, person=world.person_a, node=world.village_a, role=CADRE,
                             valid_from=dt.date(2024, 1, 1))
    second = assignment_start(actor=town_a_user, person=world.person_b, node=world.village_a, role=CADRE,
                              valid_from=dt.date(2024, 7, 1))
    first.refresh_from_db()
    assert (first.valid_to, second.valid_to) == (dt.date(2024, 7, 1), None)
    assert Assignment.objects.filter(node=world.village_a, role=CADRE).count() == 2
    events = AuditEvent.objects.filter(object_type="territory.assignment").order_by("id")
    assert [(e.action, e.actor_username) for e in events] == [
        (AuditAction.CREATE, "town_a_officer"), (AuditAction.UPDATE, "town_a_officer"),
        (AuditAction.CREATE, "town_a_officer"),
    ]


def test_the_same_person_again_keeps_the_current_row(world):
    first = assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE,
                             valid_from=dt.date(2024, 1, 1))
    again = assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE,
                             valid_from=dt.date(2024, 5, 1))
    assert again.pk == first.pk
    assert again.valid_from == dt.date(2024, 1, 1)


def test_a_new_primary_must_start_after_the_current_one(world):
    assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE, valid_from=dt.date(2024, 5, 1))
    with pytest.raises(ApplicationError, match="新任起始日期须晚于该日期"):
        assignment_start(actor=None, person=world.person_b, node=world.village_a, role=CADRE,
                         valid_from=dt.date(2024, 5, 1))


def test_unknown_role_is_refused(world):
    with pytest.raises(ApplicationError, match="未知的包干角色：boss"):
        assignment_start(actor=None, person=world.person_a, node=world.village_a, role="boss",
                         valid_from=dt.date(2024, 1, 1))
    with translation.override("en"), pytest.raises(ApplicationError) as caught:
        assignment_start(actor=None, person=world.person_a, node=world.village_a, role="boss",
                         valid_from=dt.date(2024, 1, 1))
    assert caught.value.message == "Unknown responsibility role: boss"
    assert Assignment.objects.count() == 0


def test_out_of_scope_node_and_role_without_permission_are_refused(world, town_a_user):
    with pytest.raises(ApplicationError, match="无权在该节点安排责任人"):
        assignment_start(actor=town_a_user, person=world.person_b, node=world.village_b, role=CADRE,
                         valid_from=dt.date(2024, 1, 1))
    inspector = factories.user_with_scope(Role.INSPECTOR, world.district)
    with pytest.raises(ApplicationError, match="无权安排包干责任"):
        assignment_start(actor=inspector, person=world.person_a, node=world.village_a, role=CADRE,
                         valid_from=dt.date(2024, 1, 1))
    assert Assignment.objects.count() == 0


def test_end_keeps_the_row_and_refuses_a_second_end(world, town_a_user):
    assignment = assignment_start(actor=None, person=world.person_a, node=world.village_a, role=CADRE,
                                  valid_from=dt.date(2024, 1, 1))
    with pytest.raises(ApplicationError, match="终止日期须晚于起始日期"):
        assignment_end(actor=town_a_user, assignment=assignment, valid_to=dt.date(2024, 1, 1))
    assignment_end(actor=town_a_user, assignment=assignment, valid_to=dt.date(2024, 3, 1))
    assignment.refresh_from_db()
    assert assignment.valid_to == dt.date(2024, 3, 1)
    with pytest.raises(ApplicationError, match="已于 2024-03-01 终止"):
        assignment_end(actor=town_a_user, assignment=assignment, valid_to=dt.date(2024, 6, 1))
    stale = Assignment.objects.get(pk=assignment.pk)
    stale.valid_to = None  # a copy read before someone else ended it
    with pytest.raises(ApplicationError, match="该包干责任已终止"):
        assignment_end(actor=town_a_user, assignment=stale, valid_to=dt.date(2024, 6, 1))
    assignment.refresh_from_db()
    assert assignment.valid_to == dt.date(2024, 3, 1)
    update = AuditEvent.objects.get(object_type="territory.assignment", action=AuditAction.UPDATE)
    assert (update.before, update.after) == ({"valid_to": None}, {"valid_to": "2024-03-01"})
    history = list(assignment.history.order_by("history_id").values_list("history_type", "valid_to", "history_user"))
    assert history == [("+", None, None), ("~", dt.date(2024, 3, 1), town_a_user.pk)]


def test_end_outside_the_scope_is_refused(world, town_a_user):
    assignment = assignment_start(actor=None, person=world.person_b, node=world.village_b, role=CADRE,
                                  valid_from=dt.date(2024, 1, 1))
    with pytest.raises(ApplicationError, match="无权修改该包干责任"):
        assignment_end(actor=town_a_user, assignment=assignment, valid_to=dt.date(2024, 3, 1))
    assignment.refresh_from_db()
    assert assignment.valid_to is None
