"""Person reads: scope (inside, outside, grant on a parent), search, soft-deleted rows hidden, and
the masked display every page, API answer and export uses."""

import datetime as dt

import pytest
from django.http import Http404

from civicgrid.accounts.roles import Role
from civicgrid.people.display import person_display, person_option_label
from civicgrid.people.selectors import person_get, person_list
from civicgrid.people.services import person_delete
from civicgrid.testing import factories


def test_list_is_scoped(world, admin_user, town_a_user):
    cadre = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a)
    assert set(person_list(actor=admin_user)) == {world.person_a, world.person_b}
    assert list(person_list(actor=town_a_user)) == [world.person_a]
    assert list(person_list(actor=cadre)) == [world.person_a]
    assert list(person_list(actor=admin_user, node=world.town_b)) == [world.person_b]
    clerk = factories.user_with_scope(Role.DEPARTMENT_CLERK, world.district)
    assert list(person_list(actor=clerk)) == []


def test_search_by_name_prefix_or_whole_id_number(world, admin_user):
    assert list(person_list(actor=admin_user, search="张秀")) == [world.person_a]
    assert list(person_list(actor=admin_user, search="秀英")) == []
    assert list(person_list(actor=admin_user, search=world.person_b.id_number.lower())) == [world.person_b]
    assert list(person_list(actor=admin_user, search=world.person_b.id_number[:12])) == []


def test_get_is_404_outside_the_scope_and_after_deletion(world, town_a_user):
    assert person_get(actor=town_a_user, pk=world.person_a.pk) == world.person_a
    with pytest.raises(Http404):
        person_get(actor=town_a_user, pk=world.person_b.pk)
    person_delete(actor=None, person=world.person_a, reason="重复登记")
    with pytest.raises(Http404):
        person_get(actor=town_a_user, pk=world.person_a.pk)
    assert list(person_list(actor=town_a_user)) == []


def test_display_masks_and_hides_a_minor_without_view_minor(world, admin_user, town_a_user):
    child = factories.person(world.village_a, name="张小明", birth_date=dt.date(2016, 3, 1), phone="13812345678",
                             address="三组")
    today = dt.date(2024, 3, 1)
    shown = person_display(child, actor=town_a_user, today=today)
    number = child.id_number
    assert (shown.name, shown.age, shown.is_minor, shown.id_number, shown.phone, shown.address) == (
        "张**", 8, True, f"{number[:6]}********{number[-4:]}", "138****5678", ""
    )
    full = person_display(child, actor=admin_user, today=today)
    assert (full.name, full.address, full.id_number) == ("张小明", "三组", shown.id_number)
    assert person_display(child, actor=town_a_user, today=dt.date(2030, 3, 1)).name == "张小明"  # 14 by then
    assert person_option_label(world.person_a, actor=town_a_user) == (
        f"张秀英 · {world.person_a.id_number[:6]}********{world.person_a.id_number[-4:]} · 枣寨村"
    )
