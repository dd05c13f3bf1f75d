"""R3: five failed sign-ins from one address lock that user+address pair for 30 minutes (django-axes)."""

import contextlib
import datetime as dt
from collections.abc import Iterator
from unittest import mock

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


@contextlib.contextmanager
def clock_at(moment: dt.datetime) -> Iterator[None]:
    """Make Django's and axes' idea of "now" a fixed moment (no sleeping)."""

    def now() -> dt.datetime:
        return moment

    with (
        mock.patch("django.utils.timezone.now", now),
        mock.patch("axes.handlers.proxy.now", now),
        mock.patch("axes.attempts.now", now),
    ):
        yield


def _login(client, username: str, password: str, ip: str = "10.20.30.40"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


def _signed_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_settings_match_the_requirement():
    assert settings.AXES_FAILURE_LIMIT == 5
    assert dt.timedelta(hours=settings.AXES_COOLOFF_TIME) == dt.timedelta(minutes=30)
    assert settings.AXES_LOCKOUT_PARAMETERS == [["username", "ip_address"]]
    assert reverse("login") == LOGIN


def test_sixth_attempt_with_the_right_password_is_refused_then_allowed_after_31_minutes(client):
    user = UserFactory(username="wangfang", role=Role.TOWN_OFFICER)
    start = timezone.now()
    with clock_at(start):
        for _ in range(5):
            response = _login(client, user.username, "Wrong-password-1")
            assert response.status_code in (200, 429)
            assert not _signed_in(client)
        response = _login(client, user.username, PASSWORD)
        assert response.status_code == 429
        assert "账号已暂时锁定" in response.content.decode()
        assert not _signed_in(client)

    with clock_at(start + dt.timedelta(minutes=31)):
        response = _login(client, user.username, PASSWORD)
        assert response.status_code == 302
        assert response["Location"] == reverse("web:home")
        assert client.session["_auth_user_id"] == str(user.pk)


def test_trying_again_during_the_lock_restarts_the_30_minutes(client):
    # axes' AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT (default on): hammering a locked account
    # from the same address keeps it locked; the lock never ends earlier than 30 min after the last try.
    user = UserFactory(username="chenjing", role=Role.TOWN_OFFICER)
    start = timezone.now()
    with clock_at(start):
        for _ in range(5):
            _login(client, user.username, "Wrong-password-1")
    with clock_at(start + dt.timedelta(minutes=29)):
        assert _login(client, user.username, PASSWORD).status_code == 429
    with clock_at(start + dt.timedelta(minutes=45)):  # the first lock alone would have ended at +30
        assert _login(client, user.username, PASSWORD).status_code == 429
        assert not _signed_in(client)
    with clock_at(start + dt.timedelta(minutes=45 + 31)):
        assert _login(client, user.username, PASSWORD).status_code == 302
        assert _signed_in(client)


def test_four_failures_do_not_lock(client):
    user = UserFactory(username="liqiang", role=Role.TOWN_OFFICER)
    for _ in range(4):
        _login(client, user.username, "Wrong-password-1")
    assert _login(client, user.username, PASSWORD).status_code == 302
    assert _signed_in(client)


def test_lock_is_per_user_and_address(client):
    user = UserFactory(username="zhaolei", role=Role.TOWN_OFFICER)
    other = UserFactory(username="sunli", role=Role.TOWN_OFFICER)
    for _ in range(5):
        _login(client, user.username, "Wrong-password-1", ip="10.0.0.1")
    assert _login(client, user.username, PASSWORD, ip="10.0.0.1").status_code == 429
    # Another account from the same address, and the same account from another address, still sign in.
    assert _login(client, other.username, PASSWORD, ip="10.0.0.1").status_code == 302
    client.logout()
    assert _login(client, user.username, PASSWORD, ip="10.0.0.2").status_code == 302


def test_forwarded_for_header_does_not_reset_the_lock(client):
    # With no trusted proxy (the default) the lock keys on REMOTE_ADDR; a client-chosen X-Forwarded-For
    # must not give it a fresh address (behind proxies: test_client_address.py).
    user = UserFactory(username="zhouyu", role=Role.TOWN_OFFICER)
    for _ in range(5):
        _login(client, user.username, "Wrong-password-1", ip="10.0.0.9")
    response = client.post(
        LOGIN, {"username": user.username, "password": PASSWORD},
        REMOTE_ADDR="10.0.0.9", HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    assert response.status_code == 429
    assert not _signed_in(client)
