"""Person registry pages: the role × page matrix, masking in list/detail/export (no full ID number
anywhere), minors, the audited unmask (reason required; 403 and a failed row without permission),
the create/edit forms with field errors, the query budget of the list."""

import datetime as dt
import io
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from civicgrid.accounts.roles import Action, Role
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.people import views
from civicgrid.people.models import Person
from civicgrid.testing import factories

FULL_ID = re.compile(r"(?<![\d*])\d{17}[\dX](?![\d*])")


def signed_in(user):
    client = Client()
    client.force_login(user)
    return client


PAGES = [
    ("people:list", False, Action.VIEW_PEOPLE),
    ("people:export", False, Action.EXPORT),
    ("people:options", False, Action.VIEW_PEOPLE),
    ("people:create", False, Action.MANAGE_PEOPLE),
    ("people:detail", True, Action.VIEW_PEOPLE),
    ("people:edit", True, Action.MANAGE_PEOPLE),
]
ROLE_WITHOUT = {Action.VIEW_PEOPLE: Role.DEPARTMENT_CLERK, Action.EXPORT: Role.INSPECTOR,
                Action.MANAGE_PEOPLE: Role.VILLAGE_CADRE}


@pytest.mark.parametrize(("name", "needs_pk", "action"), PAGES)
def test_page_matrix(client, world, town_a_user, name, needs_pk, action):
    url = reverse(name, args=[world.person_a.pk]) if needs_pk else reverse(name)
    assert client.get(url)["Location"].startswith(reverse("login"))
    assert signed_in(town_a_user).get(url).status_code == 200
    if needs_pk:
        assert signed_in(town_a_user).get(reverse(name, args=[world.person_b.pk])).status_code == 404
    other = factories.user_with_scope(ROLE_WITHOUT[action], world.district)
    assert signed_in(other).get(url).status_code == 403


def test_unmask_matrix(client, world, town_a_user):
    url = reverse("people:unmask", args=[world.person_a.pk])
    assert client.post(url, {"reason": "核对"})["Location"].startswith(reverse("login"))
    assert signed_in(town_a_user).get(url).status_code == 405
    assert signed_in(town_a_user).post(url, {"reason": "核对"}).status_code == 200
    assert signed_in(town_a_user).post(reverse("people:unmask", args=[world.person_b.pk]), {"reason": "核对"}).status_code == 404
    clerk = factories.user_with_scope(Role.DEPARTMENT_CLERK, world.district)
    assert signed_in(clerk).post(url, {"reason": "核对"}).status_code == 403


def test_views_declare_their_actions():
    assert views.person_list_view.required_action == Action.VIEW_PEOPLE
    assert views.person_export_view.required_action == Action.EXPORT
    assert views.person_create_view.required_action == Action.MANAGE_PEOPLE
    # Unmask is reachable for every reader so a refused attempt is audited by the service (R14).
    assert views.person_unmask_view.required_action == Action.VIEW_PEOPLE


# --- the list -----------------------------------------------------------------------------------


def test_list_masks_ids_and_phones_and_is_scoped(world, town_a_user):
    factories.person(world.village_a, name="王建国", phone="13812345678")
    body = signed_in(town_a_user).get(reverse("people:list")).content.decode()
    assert FULL_ID.search(body) is None
    assert "13812345678" not in body
    assert "138****5678" in body
    assert f"<code>{world.person_a.id_number[:6]}********{world.person_a.id_number[-4:]}</code>" in body
    assert "张秀英" in body
    assert "王建国" in body
    assert "李国庆" not in body  # town B


def test_list_search_by_name_prefix_and_full_id(world, admin_user):
    client = signed_in(admin_user)
    by_name = client.get(reverse("people:list"), {"q": "李"}).content.decode()
    assert "李国庆" in by_name
    assert "张秀英" not in by_name
    by_id = client.get(reverse("people:list"), {"q": world.person_a.id_number.lower()}).content.decode()
    assert "张秀英" in by_id
    assert "李国庆" not in by_id
    partial = client.get(reverse("people:list"), {"q": world.person_a.id_number[:10]}).content.decode()
    assert "张秀英" not in partial
    assert "李国庆" not in partial


def test_minors_are_flagged_and_their_names_hidden_without_view_minor(world, admin_user, town_a_user):
    factories.person(world.village_a, name="张小明", birth_date=dt.date(timezone.localdate().year - 8, 3, 1))
    officer = signed_in(town_a_user).get(reverse("people:list")).content.decode()
    assert "张**" in officer
    assert "张小明" not in officer
    assert officer.count('<span class="badge warn">未成年</span>') == 1
    admin = signed_in(admin_user).get(reverse("people:list")).content.decode()
    assert "张小明" in admin


def test_list_query_budget(world, admin_user, django_assert_max_num_queries):
    for index in range(60):
        factories.person(world.village_a if index % 2 else world.village_b, name=f"居民{index:02d}")
    client = signed_in(admin_user)
    with django_assert_max_num_queries(8):
        first = client.get(reverse("people:list"))
    assert first.content.decode().count('<td><a href="/people/') == 50
    with django_assert_max_num_queries(8):
        second = client.get(reverse("people:list"), {"page": 2})
    assert second.content.decode().count('<td><a href="/people/') == 12


def test_export_is_masked_formula_safe_and_audited(world, admin_user):
    factories.person(world.village_a, name='=HYPERLINK("http://evil.example","x")', phone="13812345678")
    response = signed_in(admin_user).get(reverse("people:export"), {"q": world.person_a.id_number})
    assert response.status_code == 200
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(response.content))["人员库"].iter_rows()]
    assert rows[0] == ["姓名", "性别", "年龄", "未满14周岁", "身份证号", "联系电话", "所属网格", "网格编码", "详细地址"]
    assert rows[1][0] == "张秀英"
    assert rows[1][4] == f"{world.person_a.id_number[:6]}********{world.person_a.id_number[-4:]}"
    assert len(rows) == 2
    everyone = signed_in(admin_user).get(reverse("people:export"))
    content = load_workbook(io.BytesIO(everyone.content))["人员库"]
    values = [[c.value for c in row] for row in content.iter_rows(min_row=2)]
    assert ["'=HYPERLINK(\"http://evil.example\",\"x\")", "138****5678"] in [[v[0], v[5]] for v in values]
    assert not any(FULL_ID.search(str(value)) for row in values for value in row)
    events = list(AuditEvent.objects.filter(action=AuditAction.EXPORT).order_by("id"))
    assert [e.after["rows"] for e in events] == [1, 3]
    assert FULL_ID.search(str(events[0].after)) is None  # the searched ID number is masked in the trail


# --- detail and unmask ---------------------------------------------------------------------------


def test_detail_is_masked_by_default(world, town_a_user):
    person = factories.person(world.village_a, name="王建国", phone="13812345678")
    body = signed_in(town_a_user).get(reverse("people:detail", args=[person.pk])).content.decode()
    assert FULL_ID.search(body) is None
    assert "13812345678" not in body
    assert f'action="/people/{person.pk}/unmask/"' in body


def test_unmask_shows_full_values_once_and_writes_an_audit_row(world, town_a_user):
    person = factories.person(world.village_a, name="王建国", phone="13812345678")
    client = signed_in(town_a_user)
    response = client.post(reverse("people:unmask", args=[person.pk]), {"reason": "核对帮扶对象身份"})
    body = response.content.decode()
    assert person.id_number in body
    assert "13812345678" in body
    assert response["Cache-Control"] == "no-store, private"
    event = AuditEvent.objects.get(action=AuditAction.VIEW_SENSITIVE)
    assert (event.actor_username, event.object_id, event.reason, event.success) == (
        "town_a_officer", str(person.pk), "核对帮扶对象身份", True
    )
    assert FULL_ID.search(client.get(reverse("people:detail", args=[person.pk])).content.decode()) is None


def test_unmask_needs_a_reason(world, town_a_user):
    response = signed_in(town_a_user).post(reverse("people:unmask", args=[world.person_a.pk]), {"reason": "  "})
    assert response.status_code == 400
    assert "查看完整信息须填写事由" in response.content.decode()
    assert FULL_ID.search(response.content.decode()) is None
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_SENSITIVE, success=True).exists()


def test_unmask_without_permission_is_403_with_a_failed_audit_row(world):
    cadre = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="cadre_a")
    response = signed_in(cadre).post(reverse("people:unmask", args=[world.person_a.pk]), {"reason": "好奇"})
    assert response.status_code == 403
    assert FULL_ID.search(response.content.decode()) is None
    event = AuditEvent.objects.get(action=AuditAction.VIEW_SENSITIVE)
    assert (event.actor_username, event.success, event.reason) == ("cadre_a", False, "好奇")
    page = signed_in(cadre).get(reverse("people:detail", args=[world.person_a.pk])).content.decode()
    assert "您的角色无权查看完整身份信息。" in page


def test_unmask_of_a_minor_needs_view_minor(world, admin_user, town_a_user):
    child = factories.person(world.village_a, name="张小明", birth_date=dt.date(timezone.localdate().year - 8, 3, 1))
    refused = signed_in(town_a_user).post(reverse("people:unmask", args=[child.pk]), {"reason": "入学核对"})
    assert refused.status_code == 403
    assert AuditEvent.objects.get(action=AuditAction.VIEW_SENSITIVE).success is False
    allowed = signed_in(admin_user).post(reverse("people:unmask", args=[child.pk]), {"reason": "入学核对"})
    assert allowed.status_code == 200
    assert child.id_number in allowed.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.VIEW_SENSITIVE, success=True).count() == 1


def test_detail_lists_the_persons_assignments_in_scope(world, town_a_user):
    from civicgrid.territory.models import ResponsibilityRole
    from civicgrid.territory.services import assignment_start

    assignment_start(actor=None, person=world.person_a, node=world.village_a,
                     role=ResponsibilityRole.VILLAGE_CADRE, valid_from=dt.date(2024, 1, 1))
    assignment_start(actor=None, person=world.person_a, node=world.village_b,
                     role=ResponsibilityRole.VILLAGE_CADRE, valid_from=dt.date(2024, 1, 1))
    body = signed_in(town_a_user).get(reverse("people:detail", args=[world.person_a.pk])).content.decode()
    assert "枣寨村" in body.split("包干责任")[-1]
    assert "前寨村" not in body


# --- create and edit -------------------------------------------------------------------------------


def valid_id(birth=dt.date(1975, 3, 9)):
    return factories.make_id_number(birth)


def test_create_a_person(world, town_a_user):
    number = valid_id()
    response = signed_in(town_a_user).post(
        reverse("people:create"),
        {"id_number": number, "name": " 王秀兰 ", "phone": "138 1234 5678", "address_node": world.village_a.code,
         "address": "枣寨村 3 组"},
    )
    person = Person.objects.get(id_number=number)
    assert response["Location"] == reverse("people:detail", args=[person.pk])
    assert (person.name, person.phone, person.address_node, person.birth_date) == (
        "王秀兰", "13812345678", world.village_a, dt.date(1975, 3, 9)
    )


def test_create_reports_field_errors(world, town_a_user):
    number = valid_id()
    broken = number[:17] + ("0" if number[17] != "0" else "1")
    response = signed_in(town_a_user).post(
        reverse("people:create"),
        {"id_number": broken, "name": "王秀兰", "phone": "12345", "address_node": world.village_b.code},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert set(errors) == {"id_number", "phone", "address_node"}
    assert errors["id_number"] == [f"身份证号校验位错误，应为{number[17]}"]
    assert "联系电话格式不正确" in errors["phone"][0]
    assert Person.objects.filter(name="王秀兰").count() == 0


def test_create_duplicate_shows_the_service_message(world, town_a_user):
    response = signed_in(town_a_user).post(
        reverse("people:create"),
        {"id_number": world.person_a.id_number, "name": "张秀英", "address_node": world.village_a.code},
    )
    assert response.status_code == 400
    assert "该身份证号已在人员库中" in response.content.decode()


def test_edit_never_shows_the_full_phone_and_keeps_it_when_left_blank(world, town_a_user):
    person = factories.person(world.village_a, name="王建国", phone="13812345678")
    client = signed_in(town_a_user)
    page = client.get(reverse("people:edit", args=[person.pk])).content.decode()
    assert "13812345678" not in page
    assert FULL_ID.search(page) is None
    assert "当前：138****5678；留空则不修改。" in page
    response = client.post(
        reverse("people:edit", args=[person.pk]),
        {"name": "王建军", "phone": "", "address_node": world.village_a.code, "address": "二组"},
    )
    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.name, person.phone, person.address) == ("王建军", "13812345678", "二组")
    client.post(reverse("people:edit", args=[person.pk]),
                {"name": "王建军", "phone": "13900001111", "address_node": world.village_a.code})
    person.refresh_from_db()
    assert person.phone == "13900001111"


def test_forms_need_the_csrf_token(world, town_a_user):
    client = Client(enforce_csrf_checks=True)
    client.force_login(town_a_user)
    response = client.post(reverse("people:unmask", args=[world.person_a.pk]), {"reason": "核对"})
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_SENSITIVE).exists()


def test_options_fragment_is_scoped_and_masked(world, town_a_user):
    body = signed_in(town_a_user).get(reverse("people:options"), {"q": "张"}).content.decode()
    assert f'<option value="{world.person_a.pk}">张秀英 · ' in body
    assert FULL_ID.search(body) is None
    assert "李国庆" not in signed_in(town_a_user).get(reverse("people:options"), {"q": "李"}).content.decode()


def test_pages_have_no_inline_script_or_style(world, admin_user):
    client = signed_in(admin_user)
    for url in [reverse("people:list"), reverse("people:detail", args=[world.person_a.pk]),
                reverse("people:create"), reverse("people:edit", args=[world.person_a.pk])]:
        body = client.get(url).content.decode()
        assert " style=" not in body, url
        assert "<style" not in body, url
        for tag in re.findall(r"<script[^>]*>", body):
            assert ' src="/static/' in tag, (url, tag)
