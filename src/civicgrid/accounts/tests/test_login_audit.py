"""Sign-in events in the audit trail keep typed personal numbers masked (R17 with R20)."""

import pytest
from django.urls import reverse

from civicgrid.core.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db


def test_failed_sign_in_with_an_id_number_as_account_name_is_masked_in_the_audit_trail(client):
    client.post(reverse("login"), {"username": "371502198005170019", "password": "x"})
    client.post(reverse("login"), {"username": "13812345678", "password": "x"})
    client.post(reverse("login"), {"username": "liming", "password": "x"})
    reprs = list(
        AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).order_by("id").values_list("object_repr", flat=True)
    )
    assert reprs == ["371502********0019", "138****5678", "liming"]


def test_failed_sign_in_names_no_actor_and_keeps_the_typed_name_in_the_data(client):
    from civicgrid.testing.factories import UserFactory

    user = UserFactory(username="zhaoli")
    client.post(reverse("login"), {"username": "zhaoli", "password": "wrong"})
    client.post(reverse("login"), {"username": "110105194912310021", "password": "wrong"})
    events = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).order_by("id")
    assert [(e.actor_id, e.actor_username, e.object_id, e.after, e.success) for e in events] == [
        (None, "", str(user.pk), {"attempted_username": "zhaoli"}, False),
        (None, "", "", {"attempted_username": "110105********0021"}, False),
    ]


def test_the_auditor_finds_failed_sign_ins_by_the_account_tried(client):
    from civicgrid.accounts.roles import Role
    from civicgrid.testing.factories import UserFactory

    UserFactory(username="zhaoli")
    auditor = UserFactory(username="shen.auditor", role=Role.AUDITOR)
    client.post(reverse("login"), {"username": "zhaoli", "password": "wrong"})
    client.post(reverse("login"), {"username": "qianwu", "password": "wrong"})
    client.force_login(auditor)
    page = client.get(reverse("web:audit"), {"user": "zhaoli"}).content.decode()
    assert page.count("（未登录）") == 1  # the failed sign-in has no actor, and says so
    assert "zhaoli" in page
    assert "qianwu" not in page
