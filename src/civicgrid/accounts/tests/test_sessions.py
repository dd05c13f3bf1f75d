"""R4 (idle 30 min, absolute 8 h) and R5 (rotation on sign-in, invalidation on sign-out and password change)."""

import pytest
from django.conf import settings
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.testing.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

HOME = "/"
LOGIN_REDIRECT = "/accounts/login/?next=/"


@pytest.fixture
def officer():
    return UserFactory(username="wangmin", role=Role.TOWN_OFFICER)


def _sign_in(client: Client, user) -> None:
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("web:home")


def _shift_session(client: Client, **seconds_ago: float) -> None:
    session = client.session
    now = timezone.now().timestamp()
    for key, ago in seconds_ago.items():
        session[key] = now - ago
    session.save()


def test_session_settings():
    assert settings.SESSION_IDLE_TIMEOUT == 30 * 60
    assert settings.SESSION_COOKIE_AGE == 8 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True
    assert settings.SESSION_COOKIE_HTTPONLY is True
    assert "civicgrid.accounts.middleware.SessionTimeoutMiddleware" in settings.MIDDLEWARE


def test_sign_in_records_login_and_activity_times(client, officer):
    before = timezone.now().timestamp()
    _sign_in(client, officer)
    session = client.session
    assert before <= session["login_at"] <= timezone.now().timestamp()
    assert before <= session["last_activity"] <= timezone.now().timestamp()


def test_idle_for_29_minutes_is_still_signed_in(client, officer):
    _sign_in(client, officer)
    _shift_session(client, last_activity=29 * 60)
    assert client.get(HOME).status_code == 200


def test_idle_for_31_minutes_redirects_to_login_and_ends_the_session(client, officer):
    _sign_in(client, officer)
    old_key = client.session.session_key
    _shift_session(client, last_activity=31 * 60)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == LOGIN_REDIRECT
    assert not SessionStore().exists(old_key)
    assert client.get(HOME)["Location"] == LOGIN_REDIRECT


def test_the_sign_out_by_idle_timeout_is_audited_with_the_client_address(officer):
    # The timeout signs the user out before the view runs: the address must already be known then.
    client = Client(REMOTE_ADDR="10.8.0.23")
    _sign_in(client, officer)
    _shift_session(client, last_activity=31 * 60)
    assert client.get(HOME).status_code == 302
    logout = AuditEvent.objects.get(action=AuditAction.LOGOUT)
    assert (logout.actor, logout.ip) == (officer, "10.8.0.23")


def test_idle_api_request_gets_401(client, officer):
    _sign_in(client, officer)
    _shift_session(client, last_activity=31 * 60)
    assert client.get("/api/openapi.json").status_code == 401


def test_activity_moves_the_idle_clock(client, officer):
    _sign_in(client, officer)
    _shift_session(client, last_activity=20 * 60)
    assert client.get(HOME).status_code == 200
    assert timezone.now().timestamp() - client.session["last_activity"] < 60


def test_absolute_lifetime_of_8_hours_ends_an_active_session(client, officer):
    _sign_in(client, officer)
    _shift_session(client, login_at=8 * 60 * 60 + 60, last_activity=60)
    response = client.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == LOGIN_REDIRECT


def test_session_just_under_8_hours_is_kept(client, officer):
    _sign_in(client, officer)
    _shift_session(client, login_at=8 * 60 * 60 - 60, last_activity=60)
    assert client.get(HOME).status_code == 200


def test_session_key_rotates_on_sign_in(client, officer):
    session = client.session  # an anonymous session exists before signing in
    session["language_hint"] = "zh-hans"
    session.save()
    anonymous_key = session.session_key
    assert client.cookies[settings.SESSION_COOKIE_NAME].value == anonymous_key
    _sign_in(client, officer)
    signed_in_key = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert signed_in_key != anonymous_key
    assert not SessionStore().exists(anonymous_key)
    assert SessionStore().exists(signed_in_key)


def test_old_cookie_is_useless_after_logout(client, officer):
    _sign_in(client, officer)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    assert client.post(reverse("logout")).status_code == 302
    assert not SessionStore().exists(cookie)
    replay = Client()
    replay.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = replay.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == LOGIN_REDIRECT


def test_logout_by_get_is_not_allowed(client, officer):
    _sign_in(client, officer)
    assert client.get(reverse("logout")).status_code == 405
    assert client.get(HOME).status_code == 200


def test_password_change_ends_other_sessions_but_keeps_this_one(officer):
    desk, phone = Client(), Client()
    _sign_in(desk, officer)
    _sign_in(phone, officer)
    assert phone.get(HOME).status_code == 200
    new_password = "New-grid-pass-77"
    response = desk.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": new_password, "new_password2": new_password},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("password_change_done")
    assert desk.get(HOME).status_code == 200
    response = phone.get(HOME)
    assert response.status_code == 302
    assert response["Location"] == LOGIN_REDIRECT


def test_password_change_applies_the_password_rules(client, officer):
    _sign_in(client, officer)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "griddata2026", "new_password2": "griddata2026"},
    )
    assert response.status_code == 200
    officer.refresh_from_db()
    assert officer.check_password(PASSWORD)



def test_quick_requests_do_not_rewrite_the_session(client, officer, monkeypatch):
    _sign_in(client, officer)
    _shift_session(client, last_activity=5)
    saves: list[str] = []
    real_save = SessionStore.save

    def counting_save(self, *args, **kwargs):
        saves.append(self.session_key)
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(SessionStore, "save", counting_save)
    stored = client.session["last_activity"]
    assert client.get(HOME).status_code == 200
    assert client.get(HOME).status_code == 200
    assert saves == []
    assert client.session["last_activity"] == stored


def test_activity_is_written_again_after_a_minute(client, officer, monkeypatch):
    from civicgrid.accounts.middleware import ACTIVITY_WRITE_INTERVAL

    _sign_in(client, officer)
    _shift_session(client, last_activity=ACTIVITY_WRITE_INTERVAL + 1)
    saves: list[str] = []
    real_save = SessionStore.save
    monkeypatch.setattr(SessionStore, "save", lambda self, *a, **k: (saves.append(self.session_key), real_save(self, *a, **k))[1])
    assert client.get(HOME).status_code == 200
    assert len(saves) == 1
    assert timezone.now().timestamp() - client.session["last_activity"] < 5
