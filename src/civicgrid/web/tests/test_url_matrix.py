"""R9 (三员分立), R10 (every list/detail/API scoped by 数据范围) and R11 (no IDOR), over every URL pattern.

The routes come from Django's resolver (routes.py), the expectations from security_matrix.yaml: for
each role, an account with a grant on town A requests every route; a role outside the route's `allow`
gets 403, an allowed one its success status for an object in town A and 404 for one in town B."""

from __future__ import annotations

import json
import os
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth.views import redirect_to_login
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import models, transaction
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from civicgrid.accounts.roles import ROLE_ACTIONS, Action, Role
from civicgrid.web.tests.bodies import body_text
from civicgrid.web.tests.routes import Entry, Route, all_routes, fill, matrix, url_for

MATRIX = matrix()
ROUTES = all_routes()
DECLARED = [route for route in ROUTES if route.name in MATRIX.routes]
SCOPED = [route for route in DECLARED if MATRIX.routes[route.name].scoped]
# Actions that reach residents' personal information or the audit trail (三员分立).
PERSONAL_OR_AUDIT = {Action.VIEW_PEOPLE, Action.MANAGE_PEOPLE, Action.UNMASK, Action.VIEW_MINOR,
                     Action.VIEW_HEALTH, Action.EXPORT, Action.IMPORT, Action.VIEW_AUDIT}


def request(client: Client, route: Route, entry: Entry, ids: dict[str, int], method: str | None = None) -> Any:
    """Send the route's request (its method, query and body) with the objects given by `ids`; whatever
    it writes is rolled back, so every role meets the same world."""
    path = url_for(route, ids)
    method = method or entry.method
    query = fill(entry.query, ids)
    with transaction.atomic():
        if method == "GET":
            response = client.get(path, query)
        elif entry.files is not None:
            uploads = {
                field: SimpleUploadedFile(spec["name"], fill(spec["content"], ids).encode("utf-8"))
                for field, spec in entry.files.items()
            }
            response = client.post(path, {**fill(entry.form or {}, ids), **uploads})
        elif route.is_api:
            suffix = f"?{urlencode(query)}" if query else ""
            body = json.dumps(fill(entry.body or {}, ids))
            response = client.generic(method, path + suffix, body, "application/json")
        else:
            response = client.post(path, {})  # an empty form
        transaction.set_rollback(True)
    return response


def test_every_url_pattern_is_in_the_matrix_and_protected():
    problems = []
    names = [route.name for route in ROUTES]
    for route in ROUTES:
        if not route.name:
            problems.append(f"{route.route}: unnamed URL pattern (the matrix needs a name)")
            continue
        listed = [route.name in MATRIX.public, route.name in MATRIX.signed_in, route.name in MATRIX.routes]
        if sum(listed) != 1:
            problems.append(f"{route.name}: must be in exactly one of public / signed_in / routes of security_matrix.yaml")
        if route.name in MATRIX.public or route.name in MATRIX.signed_in:
            continue
        if route.required_action is None:
            problems.append(f"{route.name} ({route.route}) declares no required action (use requires / api_requires)")
        if route.csrf_exempt:
            problems.append(f"{route.name} is csrf_exempt")
        entry = MATRIX.routes.get(route.name)
        if entry is None:
            continue
        if route.required_action is not None and entry.action != route.required_action:
            problems.append(f"{route.name}: view requires {route.required_action}, matrix says {entry.action}")
        if route.is_api and entry.method != route.api_method:
            problems.append(f"{route.name}: API operation answers {route.api_method}, matrix says {entry.method}")
        if entry.object is not None and not route.args:
            problems.append(f"{route.name}: matrix gives an object but the URL takes no argument")
        if route.args and entry.object is None and entry.kwargs is None:
            problems.append(f"{route.name}: URL takes {route.args}; give it an `object` or `kwargs` in the matrix")
    for name in sorted((MATRIX.public | MATRIX.signed_in | set(MATRIX.routes)) - set(names)):
        problems.append(f"{name}: in security_matrix.yaml but no such URL pattern")
    assert problems == []


def test_allowed_roles_hold_the_declared_action():
    problems = []
    for name, entry in MATRIX.routes.items():
        holders = {role for role, actions in ROLE_ACTIONS.items() if entry.action in actions}
        if not entry.allow <= holders:
            problems.append(f"{name}: {sorted(entry.allow - holders)} do not hold {entry.action}")
    assert problems == []


def test_separation_of_the_three_administrators():
    """三员分立: the system administrator reaches neither personal information nor the audit trail;
    the auditor reaches the audit trail only."""
    for name, entry in MATRIX.routes.items():
        if entry.action in PERSONAL_OR_AUDIT:
            assert Role.SYSTEM_ADMIN not in entry.allow, name
        assert (Role.AUDITOR in entry.allow) == (entry.action == Action.VIEW_AUDIT), name
    assert ROLE_ACTIONS[Role.SYSTEM_ADMIN] == frozenset({Action.MANAGE_ACCOUNTS})
    assert ROLE_ACTIONS[Role.AUDITOR] == frozenset({Action.VIEW_AUDIT})
    assert not any(Action.VIEW_AUDIT in actions for role, actions in ROLE_ACTIONS.items() if role != Role.AUDITOR)


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in ROUTES if r.name not in MATRIX.public], ids=str)
def test_anonymous_is_sent_to_sign_in(route, matrix_world):
    entry = MATRIX.routes.get(route.name) or Entry(action=Action.VIEW_TERRITORY, allow=frozenset())
    ids = matrix_world.ids(inside=True)
    response = request(Client(), route, entry, ids)
    if route.is_api:
        assert response.status_code == 401
    else:
        assert response.status_code == 302
        assert response["Location"] == redirect_to_login(response.wsgi_request.get_full_path())["Location"]
        assert response["Location"].startswith("/accounts/login/?next=/")


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in ROUTES if r.name in MATRIX.signed_in], ids=str)
def test_signed_in_pages_answer_every_role(route, matrix_world):
    for role in Role:
        response = matrix_world.client_for(role).get(url_for(route))
        assert (role.value, response.status_code) == (role.value, 200)
        text = body_text(response)
        assert [m for m in matrix_world.out_of_scope_markers if m in text] == [], role


@pytest.mark.django_db
@pytest.mark.parametrize("route", DECLARED, ids=str)
def test_role_matrix(route, matrix_world):
    """Each role on town A: 403 outside `allow`; inside it the success status in scope and 404 outside."""
    entry = MATRIX.routes[route.name]
    inside, outside = matrix_world.ids(inside=True), matrix_world.ids(inside=False)
    observed, expected = {}, {}
    leaks = []
    for role in Role:
        client = matrix_world.client_for(role)
        allowed = role.value in entry.allow
        # A role holding the declared action passes the view's gate: outside the scope it meets the
        # selector's 404 even where a finer check (e.g. UNMASK inside people:unmask) would refuse it.
        passes_gate = entry.action in ROLE_ACTIONS[role]
        for where, ids in (("in", inside), ("out", outside)) if entry.scoped else (("in", inside),):
            response = request(client, route, entry, ids)
            observed[(role.value, where)] = response.status_code
            if where == "in":
                expected[(role.value, where)] = entry.ok if allowed else (entry.denied_in if passes_gate else 403)
            else:
                expected[(role.value, where)] = 404 if passes_gate else 403
            if not entry.unscoped:
                text = body_text(response)
                leaks += [(role.value, where, m) for m in matrix_world.out_of_scope_markers if m in text]
        if allowed and entry.method == "POST" and not route.is_api:
            # A POST-only page refuses GET even for a role that may POST.
            observed[(role.value, "GET")] = request(client, route, entry, inside, method="GET").status_code
            expected[(role.value, "GET")] = 405
    assert observed == expected
    assert leaks == []


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in SCOPED if MATRIX.routes[r.name].object], ids=str)
@settings(
    max_examples=30, deadline=None, derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_ids_outside_the_scope_are_404(route, matrix_world, data):
    """R11: any id that is not a town-A object — a town-B row, a missing row, a huge number — is 404
    for every role passing the route's gate, and 403 for every other role."""
    entry = MATRIX.routes[route.name]
    kind = entry.object
    assert kind is not None
    model = type(matrix_world.objects[kind][0])
    in_scope = {matrix_world.objects[kind][0].pk} | _in_scope_ids(matrix_world, kind)
    existing = sorted(set(model._default_manager.values_list("pk", flat=True)) - in_scope)
    if isinstance(model._meta.pk, models.UUIDField):
        fresh: st.SearchStrategy[Any] = st.uuids()
    else:
        fresh = st.one_of(st.integers(min_value=0, max_value=2**63 - 1), st.integers(min_value=2**63, max_value=10**30))
    candidate = data.draw(
        st.one_of(st.sampled_from(existing) if existing else st.nothing(), fresh).filter(lambda pk: pk not in in_scope),
        label="pk",
    )
    ids = {**matrix_world.ids(inside=False), kind: candidate}
    role = data.draw(st.sampled_from(sorted(Role)), label="role")
    response = request(matrix_world.client_for(role), route, entry, ids)
    assert response.status_code == (404 if entry.action in ROLE_ACTIONS[role] else 403)


def _in_scope_ids(matrix_world, kind: str) -> set[int]:
    from civicgrid.territory.scoping import REGISTRY

    obj = matrix_world.objects[kind][0]
    policy = REGISTRY.get(obj._meta.label_lower)
    if policy is None:  # scoped by its own selector (see UNSCOPED in test_scoping_registry.py)
        return set()
    reader = matrix_world.users[Role.COUNTY_ADMIN]
    return set(policy.viewable(reader).values_list("pk", flat=True))


@pytest.mark.django_db
@pytest.mark.parametrize("route", [r for r in ROUTES if r.name in MATRIX.public], ids=str)
def test_public_routes_show_no_data(route, matrix_world):
    response = Client().get(url_for(route))
    assert response.status_code < 500
    text = body_text(response)
    leaked = [m for m in matrix_world.out_of_scope_markers + matrix_world.full_numbers if m in text]
    assert leaked == []
