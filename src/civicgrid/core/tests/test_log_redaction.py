"""R20: no personal information in application logs or error reports."""

import logging
import re
import sys

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, RequestFactory, override_settings
from django.urls import resolve, reverse
from django.utils.module_loading import import_string
from django.views.debug import SafeExceptionReporterFilter

from civicgrid.accounts.views import LoginView
from civicgrid.core.errors import ApplicationError
from civicgrid.core.logging import RedactPersonalInformationFilter, redact
from civicgrid.core.tests.urls_failing import FAILING_ID_NUMBER
from civicgrid.people.services import person_create
from civicgrid.testing.factories import UserFactory

# Any 18-character ID (or 15-digit old ID) and any mainland mobile number, not embedded in longer digit runs.
ID_REGEX = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])|(?<!\d)\d{15}(?!\d)")
PHONE_REGEX = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("id 371502198005170019 ok", "id 371502********0019 ok"),
        ("id 11010519491231002X.", "id 110105********002X."),
        ("id 11010519491231002x.", "id 110105********002x."),
        ("old id 371502800517001", "old id 371502********7001"),
        ("call 13812345678 now", "call 138****5678 now"),
        ("both 371502198005170019/13812345678", "both 371502********0019/138****5678"),
        ("order 1234567890123456789 stays", "order 1234567890123456789 stays"),  # 19 digits: no ID
        ("landline 053812345678", "landline 053812345678"),  # no mobile: starts with 0
    ],
)
def test_redact(text, expected):
    assert redact(text) == expected


def test_filter_is_on_the_root_handler_in_settings():
    logging_config = settings.LOGGING
    assert logging_config["filters"]["redact_pi"]["()"] == "civicgrid.core.logging.RedactPersonalInformationFilter"
    assert logging_config["root"]["handlers"] == ["console"]
    assert logging_config["handlers"]["console"]["filters"] == ["redact_pi"]
    root_filters = [f for h in logging.getLogger().handlers for f in h.filters]
    assert any(isinstance(f, RedactPersonalInformationFilter) for f in root_filters)


def test_filter_masks_arguments_and_tracebacks():
    record_filter = import_string(settings.LOGGING["filters"]["redact_pi"]["()"])()
    try:
        raise ValueError("bad 371502198005170019")
    except ValueError:
        exc_info = sys.exc_info()
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "person %s phone %s", ("371502198005170019", "13812345678"), exc_info
    )
    assert record_filter.filter(record) is True
    text = logging.Formatter("%(message)s").format(record)
    assert "person 371502********0019 phone 138****5678" in text
    assert "ValueError: bad 371502********0019" in text
    assert not ID_REGEX.search(text)
    assert not PHONE_REGEX.search(text)


@pytest.fixture
def redacted_caplog(caplog):
    """caplog on the root logger at DEBUG, with the project's filter on its handler as in settings.LOGGING."""
    caplog.handler.addFilter(RedactPersonalInformationFilter())
    caplog.handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    caplog.set_level(logging.DEBUG)
    yield caplog
    caplog.handler.removeFilter(caplog.handler.filters[-1])


@pytest.mark.django_db
@override_settings(ROOT_URLCONF="civicgrid.core.tests.urls_failing")
def test_flows_handling_id_numbers_leave_none_in_the_logs(redacted_caplog, world, admin_user):
    client = Client(raise_request_exception=False)
    client.force_login(admin_user)
    # A 404 whose URL carries an ID number (django.request logs the path).
    assert client.get(f"/people/{FAILING_ID_NUMBER}/").status_code == 404
    assert client.get(f"/api/people/?q={FAILING_ID_NUMBER}&phone=13812345678").status_code in (200, 404)
    # A 500 whose exception message carries an ID and a phone number (django.request logs the traceback).
    assert client.get("/boom/").status_code == 500
    # A failed sign-in where the user typed an ID number as account name (axes logs the attempt).
    Client().post("/accounts/login/", {"username": FAILING_ID_NUMBER, "password": "13812345678"})
    # A registration refused for a bad check digit, through the page and the service (whose message a
    # caller might log: it must not echo the number).
    response = client.post(
        "/people/new/",
        {"id_number": "371502198005170018", "name": "错号", "phone": "13812345678", "address_node": world.village_a.code},
    )
    assert response.status_code == 400
    with pytest.raises(ApplicationError) as excinfo:
        person_create(actor=admin_user, id_number="371502198005170018", name="错号", address_node=world.village_a)
    logging.getLogger("civicgrid").warning("refused: %s", excinfo.value.message)
    # An audited unmask of a full ID number and phone.
    person = world.person_a
    assert client.post(f"/people/{person.pk}/unmask/", {"reason": "核对"}).status_code == 200

    text = redacted_caplog.text
    assert "Internal Server Error: /boom/" in text
    assert "ValueError: could not match person 371502********0019 / 138****5678" in text
    assert "Not Found: /people/371502********0019/" in text
    assert ID_REGEX.findall(text) == []
    assert PHONE_REGEX.findall(text) == []


def _post(path: str, data: dict[str, str], user=None):
    request = RequestFactory().post(path, data)
    request._dont_enforce_csrf_checks = True
    request.session = SessionStore()
    request.user = user or AnonymousUser()
    return request


@pytest.mark.django_db
def test_login_view_hides_the_password_from_error_reports():
    request = _post("/accounts/login/", {"username": "liming", "password": "Secret-pass-1"})
    LoginView.as_view()(request)
    # Ours names the password; Django's LoginView.dispatch inside it widens that to every field.
    assert request.sensitive_post_parameters == "__ALL__"
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert cleansed.dict() == {"username": "********************", "password": "********************"}


@pytest.mark.django_db
def test_password_change_view_hides_every_field_from_error_reports():
    user = UserFactory(username="liming")
    view = resolve(reverse("password_change")).func
    request = _post(reverse("password_change"), {"old_password": "a", "new_password1": "b", "new_password2": "b"}, user)
    view(request)
    assert request.sensitive_post_parameters == "__ALL__"
    cleansed = SafeExceptionReporterFilter().get_post_parameters(request)
    assert set(cleansed.values()) == {"********************"}
