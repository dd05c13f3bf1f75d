"""R17: each audited action leaves a row with time, account, client address, action and result."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.core.context import client_ip
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.ingest.models import ImportJob
from civicgrid.ingest.services import import_run
from civicgrid.people.models import Person
from civicgrid.people.services import person_delete
from civicgrid.territory.models import Grant
from civicgrid.territory.services import grant_add, grant_remove
from civicgrid.testing.factories import PASSWORD, make_id_number

pytestmark = pytest.mark.django_db

IP = "10.8.0.23"


@contextlib.contextmanager
def request_from(ip: str) -> Iterator[None]:
    """What RequestContextMiddleware does for a web request, for services called directly."""
    token = client_ip.set(ip)
    try:
        yield
    finally:
        client_ip.reset(token)


def _only(action: str, **filters) -> AuditEvent:
    events = list(AuditEvent.objects.filter(action=action, **filters))
    assert len(events) == 1, events
    event = events[0]
    assert abs((timezone.now() - event.ts).total_seconds()) < 60
    return event


@pytest.fixture
def admin(matrix_world):
    return matrix_world.users[Role.COUNTY_ADMIN]


def test_sign_in_success_failure_and_sign_out(admin):
    client = Client(REMOTE_ADDR=IP)
    client.post(reverse("login"), {"username": admin.username, "password": "Wrong-password-1"})
    failed = _only(AuditAction.LOGIN_FAILED)
    # No actor (nobody signed in); the account that was tried is the object, the typed name in the data.
    assert (failed.actor, failed.actor_username, failed.ip, failed.success) == (None, "", IP, False)
    assert (failed.object_id, failed.object_repr) == (str(admin.pk), admin.username)
    assert failed.after == {"attempted_username": admin.username}
    client.post(reverse("login"), {"username": "nobody", "password": "Wrong-password-1"})
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, object_repr="nobody", object_id="").count() == 1

    assert client.post(reverse("login"), {"username": admin.username, "password": PASSWORD}).status_code == 302
    login = _only(AuditAction.LOGIN)
    assert (login.actor, login.actor_username, login.ip, login.success) == (admin, admin.username, IP, True)

    assert client.post(reverse("logout")).status_code == 302
    logout = _only(AuditAction.LOGOUT)
    assert (logout.actor, logout.ip, logout.success) == (admin, IP, True)


def test_create_and_update_through_the_pages(matrix_world, admin):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(admin)
    before = AuditEvent.objects.count()
    id_number = make_id_number()
    response = client.post(
        reverse("people:create"),
        {"id_number": id_number, "name": "刘新", "phone": "", "address_node": matrix_world.world.village_a.code, "address": ""},
    )
    assert response.status_code == 302
    person = Person.objects.get(id_number=id_number)
    created = _only(AuditAction.CREATE, object_type="people.person", object_id=str(person.pk))
    assert (created.actor, created.ip, created.success) == (admin, IP, True)
    assert id_number not in str(created.after)  # the trail stores the masked number

    response = client.post(
        reverse("people:edit", args=[person.pk]),
        {"name": "刘新民", "phone": "", "address_node": matrix_world.world.village_a.code, "address": "东街1号"},
    )
    assert response.status_code == 302
    updated = _only(AuditAction.UPDATE, object_type="people.person", object_id=str(person.pk))
    assert (updated.actor, updated.ip, updated.success) == (admin, IP, True)
    assert {key: updated.before[key] for key in ("name", "address")} == {"name": "刘新", "address": ""}
    assert {key: updated.after[key] for key in ("name", "address")} == {"name": "刘新民", "address": "东街1号"}
    assert AuditEvent.objects.count() == before + 2


def test_delete(matrix_world, admin):
    person = Person.objects.get(pk=matrix_world.world.person_a.pk)
    with request_from(IP):
        person_delete(actor=admin, person=person, reason="死亡注销")
    deleted = _only(AuditAction.DELETE)
    assert (deleted.actor, deleted.ip, deleted.success, deleted.reason, deleted.object_id) == (
        admin, IP, True, "死亡注销", str(person.pk)
    )


def test_view_of_a_sensitive_record(matrix_world, admin):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(admin)
    person = matrix_world.world.person_a
    assert client.post(reverse("people:unmask", args=[person.pk]), {"reason": "入户核查"}).status_code == 200
    event = _only(AuditAction.VIEW_SENSITIVE)
    assert (event.actor, event.ip, event.success, event.reason, event.object_id) == (admin, IP, True, "入户核查", str(person.pk))


@pytest.mark.parametrize(("url_name", "object_type"), [("people:export", "people.person"), ("territory:coverage_export", "")])
def test_exports(matrix_world, admin, url_name, object_type):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(admin)
    assert client.get(reverse(url_name)).status_code == 200
    event = _only(AuditAction.EXPORT)
    assert (event.actor, event.ip, event.success) == (admin, IP, True)
    if object_type:
        assert event.object_type == object_type


def test_permission_change(matrix_world):
    system_admin = matrix_world.users[Role.SYSTEM_ADMIN]
    target = matrix_world.users[Role.INSPECTOR]
    with request_from(IP):
        grant = grant_add(actor=system_admin, user=target, node=matrix_world.world.town_b)
    added = _only(AuditAction.PERMISSION_CHANGE)
    assert (added.actor, added.ip, added.success, added.object_type) == (system_admin, IP, True, "territory.grant")
    assert added.after == {"user": target.username, "node": matrix_world.world.town_b.code}
    with request_from(IP):
        grant_remove(actor=system_admin, grant=grant)
    removed = AuditEvent.objects.filter(action=AuditAction.PERMISSION_CHANGE).exclude(pk=added.pk).get()
    assert (removed.actor, removed.ip, removed.before) == (
        system_admin, IP, {"user": target.username, "node": matrix_world.world.town_b.code}
    )
    assert not Grant.objects.filter(user=target, node=matrix_world.world.town_b).exists()


def test_import_through_the_upload_page(matrix_world, admin):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(admin)
    ledger = SimpleUploadedFile(
        "名单.csv", f"身份证号,姓名,网格编码\n11010519491231002X,赵一,{matrix_world.world.village_a.code}\n".encode()
    )
    response = client.post(reverse("ingest:list"), {"schema": "people.person", "file": ledger, "sheet": ""})
    assert response.status_code == 302
    job = ImportJob.objects.get(actor=admin)
    assert response["Location"] == reverse("ingest:detail", args=[job.pk])
    import_run(job=job)  # what the background worker does
    event = _only(AuditAction.IMPORT)
    assert (event.actor, event.ip, event.success, event.object_id) == (admin, IP, True, str(job.pk))
    assert event.after["rows_created"] == 1
    assert Person.objects.filter(id_number="11010519491231002X", name="赵一").count() == 1


def test_rejected_upload_is_audited_as_a_failed_import(matrix_world, admin):
    client = Client(REMOTE_ADDR=IP)
    client.force_login(admin)
    disguised = SimpleUploadedFile("名单.xlsx", b"MZ\x90\x00" + b"\x00" * 200)  # a Windows program renamed
    response = client.post(reverse("ingest:list"), {"schema": "people.person", "file": disguised, "sheet": ""})
    assert response.status_code == 400
    event = _only(AuditAction.IMPORT)
    assert (event.actor, event.ip, event.success) == (admin, IP, False)
    assert event.reason
    assert not ImportJob.objects.filter(actor=admin).exists()
