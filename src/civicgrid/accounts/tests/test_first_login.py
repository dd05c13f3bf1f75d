"""A temporary password must be changed at first sign-in (accounts.first_login): every page sends the
user to the password change page until the change; the change uses the password rules (R1)."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Role
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.testing import factories

pytestmark = pytest.mark.django_db
TEMPORARY = "Tmp-pass-2026x"
NEW = "Own-choice-2027"


@pytest.fixture
def newcomer(world) -> User:
    user = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="new.comer")
    user.set_password(TEMPORARY)
    user.must_change_password = True
    user.save()
    return user


def _sign_in(client: Client, password: str = TEMPORARY):
    return client.post(reverse("login"), {"username": "new.comer", "password": password}, REMOTE_ADDR="10.1.1.1")


def test_sign_in_with_a_temporary_password_leads_to_the_change_page(client, newcomer):
    response = _sign_in(client)
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")
    for path in (reverse("web:home"), reverse("territory:tree"), reverse("people:list"), "/accounts/manage/"):
        response = client.get(path)
        assert (path, response.status_code, response["Location"]) == (path, 302, reverse("password_change"))
    page = client.get(reverse("password_change"))
    assert page.status_code == 200
    assert "临时密码" in page.content.decode()
    assert client.get("/api/territory/nodes").status_code == 403


def test_the_new_password_must_pass_the_password_rules(client, newcomer):
    _sign_in(client)
    response = client.post(
        reverse("password_change"),
        {"old_password": TEMPORARY, "new_password1": "password", "new_password2": "password"},
    )
    assert response.status_code == 200  # the form again, with the validators' errors
    newcomer.refresh_from_db()
    assert newcomer.must_change_password
    assert client.get(reverse("web:home")).status_code == 302


def test_after_the_change_the_user_works_normally_and_the_change_is_audited(client, newcomer):
    _sign_in(client)
    response = client.post(
        reverse("password_change"), {"old_password": TEMPORARY, "new_password1": NEW, "new_password2": NEW}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    newcomer.refresh_from_db()
    assert not newcomer.must_change_password
    assert newcomer.check_password(NEW)
    assert client.get(reverse("web:home")).status_code == 200
    event = AuditEvent.objects.get(action=AuditAction.UPDATE, object_id=str(newcomer.pk))
    assert (event.actor, event.before, event.after) == (
        newcomer, {"must_change_password": True}, {"must_change_password": False}
    )
    assert TEMPORARY not in str(event.after)
    assert NEW not in str(event.after)


def test_sign_out_stays_reachable(client, newcomer):
    _sign_in(client)
    response = client.post(reverse("logout"))
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session


def test_accounts_without_the_flag_are_not_redirected(client, world):
    user = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a, username="old.hand")
    client.force_login(user)
    assert client.get(reverse("web:home")).status_code == 200
