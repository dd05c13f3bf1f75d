"""R13 (masked by default everywhere), R14 (audited unmask with a reason), R27 (minors), R29 (soft delete),
R26 through the real export."""

from __future__ import annotations

import datetime as dt
import io
import re

import pytest
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from civicgrid.accounts.roles import Role
from civicgrid.core.errors import ApplicationError
from civicgrid.core.idnumber import parse
from civicgrid.core.masking import mask_id_number, mask_phone
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.people.models import MINOR_AGE, Person
from civicgrid.people.selectors import person_get, person_list
from civicgrid.people.services import person_delete
from civicgrid.testing import factories
from civicgrid.web.tests.bodies import body_text
from civicgrid.web.tests.routes import all_routes, fill, matrix, url_for

MATRIX = matrix()
GET_ROUTES = [r for r in all_routes() if r.name in MATRIX.routes and MATRIX.routes[r.name].method == "GET"]
SIGNED_IN_ROUTES = [r for r in all_routes() if r.name in MATRIX.signed_in]
FULL_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
FULL_MOBILE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _years_ago(years: int, days: int = 0) -> dt.date:
    today = timezone.localdate()
    try:
        birthday = today.replace(year=today.year - years)
    except ValueError:  # 29 February
        birthday = today.replace(year=today.year - years, day=28)
    return birthday - dt.timedelta(days=days)


@pytest.mark.django_db
@pytest.mark.parametrize("role", list(Role), ids=str)
def test_no_full_id_or_phone_in_any_page_export_or_api_body(role, matrix_world):
    """R13: every GET page, export and API answer a role can reach shows ID numbers and phones masked."""
    client = matrix_world.client_for(role)
    inside = matrix_world.ids(inside=True)
    checked = 0
    leaks = []
    for route in GET_ROUTES + SIGNED_IN_ROUTES:
        entry = MATRIX.routes.get(route.name)
        response = client.get(url_for(route, inside), fill(entry.query, inside) if entry else {})
        if response.status_code != 200:
            continue
        checked += 1
        text = body_text(response)
        leaks += [(route.name, number) for number in FULL_ID.findall(text) + FULL_MOBILE.findall(text)]
    assert leaks == []
    assert checked >= len(SIGNED_IN_ROUTES)


@pytest.mark.django_db
def test_masked_forms_are_what_the_list_and_api_show(matrix_world):
    person = Person.objects.get(pk=matrix_world.world.person_a.pk)
    client = matrix_world.client_for(Role.COUNTY_ADMIN)
    for path in (reverse("people:list"), reverse("people:detail", args=[person.pk]), reverse("api:list_people")):
        text = body_text(client.get(path))
        assert mask_id_number(person.id_number) in text, path
        assert mask_phone(person.phone) in text, path
        assert person.id_number not in text


@pytest.fixture
def person_a(matrix_world):
    return Person.objects.get(pk=matrix_world.world.person_a.pk)


@pytest.mark.django_db
def test_unmask_with_a_reason_shows_the_full_number_and_is_audited(matrix_world, person_a):
    """R14: the full number is shown on this response only, and an audit row names user, object and reason."""
    user = matrix_world.users[Role.COUNTY_ADMIN]
    client = matrix_world.client_for(Role.COUNTY_ADMIN)
    response = client.post(reverse("people:unmask", args=[person_a.pk]), {"reason": "核对帮扶对象身份"})
    assert response.status_code == 200
    assert person_a.id_number in response.content.decode()
    assert person_a.phone in response.content.decode()
    assert response["Cache-Control"] == "no-store, private"
    event = AuditEvent.objects.get(action=AuditAction.VIEW_SENSITIVE)
    assert (event.actor, event.actor_username, event.success, event.reason) == (user, user.username, True, "核对帮扶对象身份")
    assert (event.object_type, event.object_id, event.ip) == ("people.person", str(person_a.pk), "127.0.0.1")
    # The next page view is masked again.
    assert person_a.id_number not in client.get(reverse("people:detail", args=[person_a.pk])).content.decode()


@pytest.mark.django_db
def test_unmask_without_a_reason_is_refused(matrix_world, person_a):
    client = matrix_world.client_for(Role.COUNTY_ADMIN)
    response = client.post(reverse("people:unmask", args=[person_a.pk]), {"reason": "   "})
    assert response.status_code == 400
    assert person_a.id_number not in response.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.VIEW_SENSITIVE, success=True).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.INSPECTOR, Role.VILLAGE_CADRE, Role.SQUAD_LEADER, Role.OFFICER])
def test_unmask_without_the_permission_is_403_and_logged_as_failed(role, matrix_world, person_a):
    client = matrix_world.client_for(role)
    response = client.post(reverse("people:unmask", args=[person_a.pk]), {"reason": "好奇"})
    assert response.status_code == 403
    assert person_a.id_number not in response.content.decode()
    event = AuditEvent.objects.get(action=AuditAction.VIEW_SENSITIVE)
    assert (event.actor, event.success, event.object_id, event.reason) == (
        matrix_world.users[role], False, str(person_a.pk), "好奇"
    )


@pytest.mark.django_db
def test_unmask_outside_the_scope_is_404_and_reveals_nothing(matrix_world):
    client = matrix_world.client_for(Role.COUNTY_ADMIN)
    person_b = Person.objects.get(pk=matrix_world.world.person_b.pk)
    response = client.post(reverse("people:unmask", args=[person_b.pk]), {"reason": "核对"})
    assert response.status_code == 404
    assert person_b.id_number not in response.content.decode()
    assert person_b.name not in response.content.decode()


@pytest.fixture
def child(matrix_world):
    """A resident aged 10, registered in village A."""
    return factories.person(matrix_world.world.village_a, name="王小明", birth_date=_years_ago(10), sex="M")


@pytest.mark.django_db
def test_minor_flag_comes_from_the_birth_date_in_the_id_number(matrix_world):
    village = matrix_world.world.village_a
    turning_14_tomorrow = factories.person(village, name="甲", birth_date=_years_ago(MINOR_AGE, days=-1))
    fourteen_today = factories.person(village, name="乙", birth_date=_years_ago(MINOR_AGE))
    for person, minor in ((turning_14_tomorrow, True), (fourteen_today, False)):
        stored = Person.objects.get(pk=person.pk)
        assert stored.birth_date == parse(stored.id_number).birth_date
        assert stored.is_minor is minor


@pytest.mark.django_db
@pytest.mark.parametrize("role", [Role.TOWN_OFFICER, Role.BRIGADE_LEADER])
def test_unmask_of_a_minor_needs_view_minor(role, matrix_world, child):
    """R27: a role with UNMASK but without VIEW_MINOR is refused (and the attempt logged)."""
    response = matrix_world.client_for(role).post(reverse("people:unmask", args=[child.pk]), {"reason": "核对"})
    assert response.status_code == 403
    assert child.id_number not in response.content.decode()
    assert AuditEvent.objects.filter(action=AuditAction.VIEW_SENSITIVE, success=False, object_id=str(child.pk)).count() == 1
    admin = matrix_world.client_for(Role.COUNTY_ADMIN)
    allowed = admin.post(reverse("people:unmask", args=[child.pk]), {"reason": "核对"})
    assert allowed.status_code == 200
    assert child.id_number in allowed.content.decode()


@pytest.mark.django_db
def test_a_minors_name_is_masked_for_roles_without_view_minor(matrix_world, child):
    cadre = matrix_world.client_for(Role.VILLAGE_CADRE)
    for path in (reverse("people:list"), reverse("people:detail", args=[child.pk]), reverse("api:get_person", args=[child.pk])):
        text = body_text(cadre.get(path))
        assert "王小明" not in text, path
        assert "王**" in text, path
    admin_text = body_text(matrix_world.client_for(Role.COUNTY_ADMIN).get(reverse("people:list")))
    assert "王小明" in admin_text


@pytest.mark.django_db
def test_soft_delete_hides_the_person_and_logs_the_reason(matrix_world, person_a):
    """R29: deletion keeps the row, hides it from every read, and the audit row carries the reason."""
    actor = matrix_world.users[Role.COUNTY_ADMIN]
    person_delete(actor=actor, person=person_a, reason="户籍迁出")
    stored = Person.objects.get(pk=person_a.pk)
    assert stored.deleted_at is not None
    assert stored.deleted_reason == "户籍迁出"
    assert person_a.pk not in set(person_list(actor=actor).values_list("pk", flat=True))
    with pytest.raises(Http404):
        person_get(actor=actor, pk=person_a.pk)
    client = matrix_world.client_for(Role.COUNTY_ADMIN)
    assert client.get(reverse("people:detail", args=[person_a.pk])).status_code == 404
    assert client.get(reverse("api:get_person", args=[person_a.pk])).status_code == 404
    assert client.post(reverse("people:unmask", args=[person_a.pk]), {"reason": "核对"}).status_code == 404
    assert person_a.name not in body_text(client.get(reverse("people:list")))
    event = AuditEvent.objects.get(action=AuditAction.DELETE)
    assert (event.actor, event.object_type, event.object_id, event.reason, event.success) == (
        actor, "people.person", str(person_a.pk), "户籍迁出", True
    )


@pytest.mark.django_db
def test_soft_delete_needs_a_reason_and_the_scope(matrix_world, person_a):
    actor = matrix_world.users[Role.COUNTY_ADMIN]
    with pytest.raises(ApplicationError):
        person_delete(actor=actor, person=person_a, reason="  ")
    person_b = Person.objects.get(pk=matrix_world.world.person_b.pk)
    with pytest.raises(Http404):
        person_delete(actor=actor, person=person_b, reason="越权")
    reader = matrix_world.users[Role.INSPECTOR]  # may view, may not manage people
    with pytest.raises(Http404):
        person_delete(actor=reader, person=person_a, reason="越权")
    assert Person.objects.filter(deleted_at__isnull=False).count() == 0
    assert not AuditEvent.objects.filter(action=AuditAction.DELETE).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("name", ['=HYPERLINK("http://x","y")', "+1", "-1", "@SUM(A1)"])
def test_people_export_neutralises_formula_names(matrix_world, name):
    """R26 end to end: a resident whose name a spreadsheet would run comes out of the export as text."""
    factories.person(matrix_world.world.village_a, name=name)
    response = matrix_world.client_for(Role.COUNTY_ADMIN).get(reverse("people:export"))
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    cells = [cell for row in sheet.iter_rows() for cell in row if cell.value == "'" + name]
    assert len(cells) == 1
    assert cells[0].data_type == "s"
    assert not any(cell.data_type == "f" for row in sheet.iter_rows() for cell in row)
