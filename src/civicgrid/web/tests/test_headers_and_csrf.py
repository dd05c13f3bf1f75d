"""R22 (security headers, no-store on signed-in answers) and R23 (CSRF on every state-changing route)."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from civicgrid.accounts.roles import Role
from civicgrid.web.tests.routes import all_routes, fill, matrix, url_for

MATRIX = matrix()
ROUTES = all_routes()
EXPECTED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data: blob:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
    "base-uri": "'self'",
    "object-src": "'none'",
}


def _csp(response) -> dict[str, str]:
    directives = [part.strip() for part in response["Content-Security-Policy"].split(";") if part.strip()]
    return {d.split(" ", 1)[0]: d.split(" ", 1)[1] if " " in d else "" for d in directives}


def _assert_security_headers(response) -> None:
    assert _csp(response) == EXPECTED_CSP
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


@pytest.mark.django_db
def test_signed_in_page_has_the_security_headers_and_no_store(matrix_world):
    response = matrix_world.client_for(Role.COUNTY_ADMIN).get("/")
    assert response.status_code == 200
    _assert_security_headers(response)
    assert response["Cache-Control"] == "no-store, private"


@pytest.mark.django_db
def test_sign_in_page_has_the_security_headers():
    response = Client().get("/accounts/login/")
    assert response.status_code == 200
    _assert_security_headers(response)


@pytest.mark.django_db
def test_every_signed_in_answer_is_no_store(matrix_world):
    """Every page, export and API answer a signed-in user gets may carry personal information."""
    client = matrix_world.client_for(Role.COUNTY_ADMIN)
    inside = matrix_world.ids(inside=True)
    checked = {}
    for route in ROUTES:
        entry = MATRIX.routes.get(route.name)
        if route.name in MATRIX.public or (entry is not None and entry.method != "GET"):
            continue
        response = client.get(url_for(route, inside), fill(entry.query, inside) if entry else {})
        checked[route.name] = (response.status_code, response.get("Cache-Control"))
    assert checked
    assert {name: value for name, value in checked.items() if value[1] != "no-store, private"} == {}


def _unsafe_requests():
    """(route, method) for every route that could change state: every Django page (CSRF applies to all
    unsafe methods there) and every API operation that is not GET."""
    for route in ROUTES:
        if route.is_api:
            if route.api_method not in {"GET", "HEAD", "OPTIONS"}:
                yield route, route.api_method
        else:
            yield route, "POST"


@pytest.mark.django_db
@pytest.mark.parametrize(("route", "method"), list(_unsafe_requests()), ids=lambda v: str(v))
def test_post_without_a_csrf_token_is_refused(route, method, matrix_world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(matrix_world.users[Role.COUNTY_ADMIN])
    entry = MATRIX.routes.get(route.name)
    inside = matrix_world.ids(inside=True)
    path = url_for(route, inside)
    body = json.dumps(fill((entry.body if entry else None) or {}, inside))
    response = client.generic(method, path, body, "application/json")
    assert response.status_code == 403
    assert "CSRF" in response.content.decode()


@pytest.mark.django_db
def test_the_token_from_the_page_is_accepted(matrix_world):
    # Control for the test above: the same client with the token gets through to the view.
    client = Client(enforce_csrf_checks=True)
    client.force_login(matrix_world.users[Role.COUNTY_ADMIN])
    client.get("/")
    token = client.cookies["csrftoken"].value
    person = matrix_world.world.person_a
    response = client.post(f"/people/{person.pk}/unmask/", {"reason": "核对", "csrfmiddlewaretoken": token})
    assert response.status_code == 200
    api = client.post(
        "/api/territory/assignments/" + str(matrix_world.objects["assignment"][0].pk) + "/end",
        json.dumps({"valid_to": "2099-12-31"}), "application/json", HTTP_X_CSRFTOKEN=token,
    )
    assert api.status_code == 200
