"""People API: scoped, masked always (no 18-digit ID in any body), minors' names hidden without
VIEW_MINOR; 401 anonymous, 403 without the action, 404 outside the scope."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from civicgrid.accounts.roles import Action, Role
from civicgrid.people.api import get_person, list_people
from civicgrid.territory.models import ResponsibilityRole
from civicgrid.territory.services import assignment_start
from civicgrid.testing import factories

FULL_ID = re.compile(r"(?<![\d*])\d{17}[\dX](?![\d*])")


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize("kind", ["list", "detail"])
def test_matrix(client, world, town_a_user, kind):
    url = "/api/people" if kind == "list" else f"/api/people/{world.person_a.pk}"
    assert client.get(url).status_code == 401
    assert signed_in(town_a_user).get(url).status_code == 200
    clerk = factories.user_with_scope(Role.DEPARTMENT_CLERK, world.district)
    assert signed_in(clerk).get(url).status_code == 403
    if kind == "detail":
        assert signed_in(town_a_user).get(f"/api/people/{world.person_b.pk}").status_code == 404
        assert signed_in(town_a_user).get("/api/people/999999").status_code == 404


def test_handlers_declare_their_actions():
    assert list_people.required_action == Action.VIEW_PEOPLE
    assert get_person.required_action == Action.VIEW_PEOPLE


def test_list_is_scoped_masked_and_paginated(world, admin_user, town_a_user):
    factories.person(world.village_a, name="王建国", phone="13812345678")
    response = signed_in(town_a_user).get("/api/people")
    assert FULL_ID.search(response.content.decode()) is None
    assert "13812345678" not in response.content.decode()
    body = response.json()
    assert body["count"] == 2
    assert {item["name"] for item in body["items"]} == {"张秀英", "王建国"}
    first = next(item for item in body["items"] if item["name"] == "张秀英")
    number = world.person_a.id_number
    assert first == {
        "id": world.person_a.pk, "name": "张秀英", "sex": "男", "age": world.person_a.age_on(timezone.localdate()),
        "is_minor": False, "id_number": f"{number[:6]}********{number[-4:]}", "phone": "",
        "node": {"id": world.village_a.pk, "code": "371571100201", "name": "枣寨村"},
    }
    admin = signed_in(admin_user)
    assert admin.get(f"/api/people?search={world.person_b.id_number}").json()["count"] == 1
    assert admin.get("/api/people?search=王").json()["items"][0]["phone"] == "138****5678"
    assert admin.get(f"/api/people?node={world.town_b.pk}").json()["count"] == 1
    assert signed_in(town_a_user).get(f"/api/people?node={world.town_b.pk}").status_code == 404
    page = admin.get("/api/people?page=2&page_size=2").json()
    assert (page["count"], len(page["items"])) == (3, 1)


def test_minor_names_need_view_minor(world, admin_user, town_a_user):
    child = factories.person(world.village_a, name="张小明", birth_date=dt.date(timezone.localdate().year - 8, 3, 1),
                             address="枣寨村 3 组")
    officer = signed_in(town_a_user).get(f"/api/people/{child.pk}").json()
    assert (officer["name"], officer["is_minor"], officer["address"]) == ("张**", True, "")
    admin = signed_in(admin_user).get(f"/api/people/{child.pk}").json()
    assert (admin["name"], admin["address"]) == ("张小明", "枣寨村 3 组")
    assert FULL_ID.search(str(admin)) is None


def test_detail_lists_assignments_in_scope(world, town_a_user):
    inside = assignment_start(actor=None, person=world.person_a, node=world.village_a,
                              role=ResponsibilityRole.VILLAGE_CADRE, valid_from=dt.date(2024, 1, 1))
    assignment_start(actor=None, person=world.person_a, node=world.village_b,
                     role=ResponsibilityRole.VILLAGE_CADRE, valid_from=dt.date(2024, 1, 1))
    body = signed_in(town_a_user).get(f"/api/people/{world.person_a.pk}").json()
    assert body["assignments"] == [
        {"id": inside.pk, "node": {"id": world.village_a.pk, "code": "371571100201", "name": "枣寨村"},
         "role": "village_cadre", "role_label": "包村干部", "is_primary": True, "valid_from": "2024-01-01",
         "valid_to": None}
    ]
