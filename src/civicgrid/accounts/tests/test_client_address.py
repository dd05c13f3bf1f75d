"""The client address behind reverse proxies (CIVICGRID_TRUSTED_PROXIES), through real sign-in requests:
the audit trail and django-axes (lockout records, R3 per user + address) see the same resolved address,
and an X-Forwarded-For entry the client wrote itself never counts."""

import pytest
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.test import Client

from civicgrid.accounts.roles import Role
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PROXY = "10.0.0.2"  # nginx, as gunicorn sees it
CLIENT = "203.0.113.7"  # the browser, as nginx saw it
FORGED = "198.51.100.66"  # what a client writes into its own X-Forwarded-For


def _post_login(username: str, password: str, *, forwarded_for: str | None, remote: str = PROXY):
    headers = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    client = Client(REMOTE_ADDR=remote)
    return client, client.post(LOGIN, {"username": username, "password": password}, **headers)


def _failed_sign_in_address(forwarded_for: str | None, *, remote: str = PROXY) -> str:
    """Fail one sign-in and return the address its audit row and its axes record carry (they agree)."""
    _post_login("nobody", "Wrong-password-1", forwarded_for=forwarded_for, remote=remote)
    event = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).latest("id")
    attempt = AccessAttempt.objects.get(username="nobody")
    assert attempt.ip_address == event.ip
    AccessAttempt.objects.all().delete()
    return event.ip


def test_the_axes_callable_is_ours():
    assert settings.AXES_CLIENT_IP_CALLABLE == "civicgrid.core.context.request_client_ip"
    assert settings.CIVICGRID_TRUSTED_PROXIES == 0  # the default: no header is trusted


def test_without_proxies_a_forged_forwarded_for_is_ignored(settings):
    settings.CIVICGRID_TRUSTED_PROXIES = 0
    assert _failed_sign_in_address(FORGED, remote=CLIENT) == CLIENT
    assert _failed_sign_in_address(f"{FORGED}, 10.9.9.9", remote=CLIENT) == CLIENT


def test_one_proxy_uses_the_rightmost_entry_and_ignores_a_forged_left_one(settings):
    settings.CIVICGRID_TRUSTED_PROXIES = 1
    assert _failed_sign_in_address(CLIENT) == CLIENT
    assert _failed_sign_in_address(f"{FORGED}, {CLIENT}") == CLIENT
    assert _failed_sign_in_address(f"{FORGED},{FORGED}, {CLIENT}") == CLIENT


def test_two_proxies_use_the_second_entry_from_the_right(settings):
    settings.CIVICGRID_TRUSTED_PROXIES = 2
    assert _failed_sign_in_address(f"{CLIENT}, 10.0.0.1") == CLIENT
    assert _failed_sign_in_address(f"{FORGED}, {CLIENT}, 10.0.0.1") == CLIENT
    # Only one entry: the request did not pass both proxies, so only REMOTE_ADDR is known.
    assert _failed_sign_in_address(CLIENT) == PROXY


@pytest.mark.parametrize(
    "forwarded_for", [None, "", "unknown", f"{CLIENT}:51234", "300.1.2.3", f"{CLIENT}, "]
)
def test_malformed_or_missing_entries_fall_back_to_remote_addr(settings, forwarded_for):
    settings.CIVICGRID_TRUSTED_PROXIES = 1
    assert _failed_sign_in_address(forwarded_for) == PROXY


def test_a_sign_in_is_audited_and_logged_by_axes_with_the_resolved_address(settings):
    settings.CIVICGRID_TRUSTED_PROXIES = 1
    user = UserFactory(username="wangfang", role=Role.TOWN_OFFICER)
    client, response = _post_login(user.username, PASSWORD, forwarded_for=f"{FORGED}, {CLIENT}")
    assert response.status_code == 302
    login = AuditEvent.objects.get(action=AuditAction.LOGIN)
    assert (login.actor, login.ip, login.success) == (user, CLIENT, True)
    assert list(AccessLog.objects.values_list("username", "ip_address")) == [(user.username, CLIENT)]
    # Later requests of the same session resolve the same way (sign-out audited with the client address).
    client.post("/accounts/logout/", HTTP_X_FORWARDED_FOR=CLIENT)
    assert AuditEvent.objects.get(action=AuditAction.LOGOUT).ip == CLIENT


def test_a_lockout_behind_the_proxy_locks_only_that_user_at_that_client(settings):
    settings.CIVICGRID_TRUSTED_PROXIES = 1
    locked = UserFactory(username="zhaolei", role=Role.TOWN_OFFICER)
    other = UserFactory(username="sunli", role=Role.TOWN_OFFICER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _post_login(locked.username, "Wrong-password-1", forwarded_for=CLIENT)
    attempt = AccessAttempt.objects.get(username=locked.username)
    assert (attempt.ip_address, attempt.failures_since_start) == (CLIENT, settings.AXES_FAILURE_LIMIT)
    assert set(AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).values_list("ip", flat=True)) == {
        CLIENT
    }

    # The locked pair stays locked, whatever the client puts in front of its address.
    assert _post_login(locked.username, PASSWORD, forwarded_for=CLIENT)[1].status_code == 429
    assert _post_login(locked.username, PASSWORD, forwarded_for=f"{FORGED}, {CLIENT}")[1].status_code == 429
    # Everyone comes through the same proxy (one REMOTE_ADDR), yet another user signs in, from another
    # client or the same one, and so does the locked user at another desk.
    assert _post_login(other.username, PASSWORD, forwarded_for="203.0.113.8")[1].status_code == 302
    assert _post_login(other.username, PASSWORD, forwarded_for=CLIENT)[1].status_code == 302
    assert _post_login(locked.username, PASSWORD, forwarded_for="203.0.113.8")[1].status_code == 302


@pytest.mark.parametrize(("proxies", "forwarded_for"), [(0, None), (1, "unknown")])
def test_an_unknown_client_address_still_locks_the_account(settings, proxies, forwarded_for):
    # A server on a Unix socket sets REMOTE_ADDR to "". Keyed on "", axes never matched its own records
    # (stored as NULL) and five failures never locked; the unknown address is now one address (NULL).
    settings.CIVICGRID_TRUSTED_PROXIES = proxies
    user = UserFactory(username="zhouyu", role=Role.TOWN_OFFICER)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _post_login(user.username, "Wrong-password-1", forwarded_for=forwarded_for, remote="")
    assert _post_login(user.username, PASSWORD, forwarded_for=forwarded_for, remote="")[1].status_code == 429
    assert AccessAttempt.objects.get(username=user.username).ip_address is None
    assert set(AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).values_list("ip", flat=True)) == {
        ""
    }
