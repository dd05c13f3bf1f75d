"""Person services the pages rely on: create/update with identity checks and scope, and the unmask
rules (permission, minors, reason) with their audit rows."""

import datetime as dt

import pytest
from django.http import Http404
from django.utils import timezone, translation

from civicgrid.accounts.roles import Role
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.people.models import Person
from civicgrid.people.services import person_create, person_unmask, person_update
from civicgrid.testing import factories


def test_create_derives_sex_and_birth_date_and_audits_masked(world, town_a_user):
    number = factories.make_id_number(dt.date(1990, 2, 3), sex="F")
    person = person_create(actor=town_a_user, id_number=number, name="王秀兰", address_node=world.village_a,
                           phone="13812345678")
    assert (person.sex, person.birth_date, person.scope_path) == ("F", dt.date(1990, 2, 3), world.village_a.path)
    event = AuditEvent.objects.get(action=AuditAction.CREATE, object_type="people.person", object_id=str(person.pk))
    assert event.after["id_number"] == f"{number[:6]}********{number[-4:]}"
    assert event.after["phone"] == "138****5678"


def test_create_refusals(world, town_a_user):
    number = factories.make_id_number()
    with pytest.raises(ApplicationError, match="所属网格不在您的数据范围内"):
        person_create(actor=town_a_user, id_number=number, name="王秀兰", address_node=world.village_b)
    with pytest.raises(ApplicationError, match="性别与身份证号不符"):
        person_create(actor=None, id_number=factories.make_id_number(sex="M"), name="王秀兰",
                      address_node=world.village_a, sex="F")
    inspector = factories.user_with_scope(Role.INSPECTOR, world.district)
    with pytest.raises(ApplicationError, match="无权登记人员"):
        person_create(actor=inspector, id_number=number, name="王秀兰", address_node=world.village_a)
    with pytest.raises(ApplicationError, match="已在人员库中"):
        person_create(actor=None, id_number=world.person_a.id_number, name="张秀英", address_node=world.village_a)
    with translation.override("en"), pytest.raises(ApplicationError) as caught:
        person_create(actor=None, id_number=world.person_a.id_number, name="张秀英", address_node=world.village_a)
    assert caught.value.message == "This ID number is already in the population register"
    assert Person.objects.count() == 2


def test_update_is_scoped_and_audits_the_diff(world, town_a_user):
    updated = person_update(actor=town_a_user, person=world.person_a, name="张秀兰", phone="139-0000-1111")
    assert (updated.name, updated.phone) == ("张秀兰", "13900001111")
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_type="people.person")
    assert set(event.after) == {"name", "phone", "updated_at"}
    assert (event.before["name"], event.before["phone"]) == ("张秀英", "")
    assert (event.after["name"], event.after["phone"]) == ("张秀兰", "139****1111")
    with pytest.raises(Http404):
        person_update(actor=town_a_user, person=world.person_b, name="x")


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("138 1234 5678", "13812345678"), ("139-0000-1111", "13900001111"), ("+8613800001111", "13800001111"),
     ("0635-8123456", "0635-8123456"), ("", "")],
)
def test_phone_numbers_are_normalised(world, raw, stored):
    assert person_update(actor=None, person=world.person_a, phone=raw).phone == stored


def test_unmask_returns_full_values_with_a_reason_and_logs_it(world, town_a_user):
    revealed = person_unmask(actor=town_a_user, person=world.person_a, reason=" 核对 ")
    assert revealed == {"id_number": world.person_a.id_number, "phone": ""}
    event = AuditEvent.objects.get(action=AuditAction.VIEW_SENSITIVE)
    assert (event.success, event.reason, event.object_id) == (True, "核对", str(world.person_a.pk))


def test_unmask_without_reason_is_refused_without_a_success_row(world, town_a_user):
    with pytest.raises(ApplicationError, match="须填写事由"):
        person_unmask(actor=town_a_user, person=world.person_a, reason=" ")
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_SENSITIVE).exists()


def test_unmask_without_permission_or_for_a_minor_writes_a_failed_row(world, admin_user, town_a_user):
    cadre = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a)
    with pytest.raises(PermissionError):
        person_unmask(actor=cadre, person=world.person_a, reason="好奇")
    child = factories.person(world.village_a, name="张小明", birth_date=dt.date(timezone.localdate().year - 5, 1, 1))
    with pytest.raises(PermissionError):
        person_unmask(actor=town_a_user, person=child, reason="入学")
    assert person_unmask(actor=admin_user, person=child, reason="入学")["id_number"] == child.id_number
    rows = list(AuditEvent.objects.filter(action=AuditAction.VIEW_SENSITIVE).order_by("id").values_list("success", "reason"))
    assert rows == [(False, "好奇"), (False, "入学"), (True, "入学")]


def test_unmask_outside_the_scope_is_404_even_with_the_permission(world, town_a_user):
    with pytest.raises(Http404):
        person_unmask(actor=town_a_user, person=world.person_b, reason="核对")


def test_unmask_of_a_soft_deleted_person_is_404(world, town_a_user):
    from civicgrid.people.services import person_delete

    person_delete(actor=town_a_user, person=world.person_a, reason="迁出")
    with pytest.raises(Http404):
        person_unmask(actor=town_a_user, person=world.person_a, reason="核对")
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_SENSITIVE, success=True).exists()
