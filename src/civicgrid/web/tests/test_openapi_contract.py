"""R30: the OpenAPI contract under fuzzing (schemathesis, in-process through Django's WSGI handler), signed
in as a county administrator and as a read-only inspector, both scoped to town A: no 5xx for valid or
invalid input, and every answer has the documented content type and matches the documented schema."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from civicgrid.accounts.roles import Role

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

EXAMPLES = 15  # per operation and generation mode: ~40 operations, so the suite stays within CI's budget
# In CI the examples are derived from the test itself (reproducible runs); locally they vary run to run.
DERANDOMIZE = bool(os.environ.get("CI"))


def _session(matrix_world, role: str) -> tuple[dict[str, str], dict[str, str]]:
    """Cookies and headers of a signed-in browser session (with its CSRF token for unsafe methods)."""
    client = matrix_world.client_for(role)
    client.get("/")
    token = client.cookies["csrftoken"].value
    return {"sessionid": client.cookies["sessionid"].value, "csrftoken": token}, {"X-CSRFToken": token}


@contextlib.contextmanager
def _connection_kept_open() -> Iterator[None]:
    """Django's WSGI handler closes the database connection after each request; inside a test's
    transaction that ends the test (PostgreSQL). Django's own test client detaches the same hooks."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _fuzz(matrix_world, role: str, checks: list[Callable[..., Any]], modes: list[GenerationMode]) -> list[str]:
    cookies, headers = _session(matrix_world, role)  # Django's test client re-attaches the hooks: first
    with _connection_kept_open():
        return _fuzz_operations(cookies, headers, checks, modes)


def _fuzz_operations(
    cookies: dict[str, str], headers: dict[str, str], checks: list[Callable[..., Any]], modes: list[GenerationMode]
) -> list[str]:
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations, "the API documents no operation"
    for operation in operations:
        for mode in modes:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES, deadline=None, database=None, derandomize=DERANDOMIZE,
                suppress_health_check=list(HealthCheck),
            )
            def run(case: Any) -> None:
                with transaction.atomic():  # each case meets the same world
                    case.call_and_validate(headers=headers, cookies=cookies, checks=checks)
                    transaction.set_rollback(True)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # noqa: PERF203 - collect every operation's failure
                failures.append(f"{mode.value} {operation.method.upper()} {operation.path}:\n{exc}")
    return failures


@pytest.mark.parametrize(
    ("role", "modes"),
    [
        (Role.COUNTY_ADMIN, [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]),  # reaches every handler
        (Role.INSPECTOR, [GenerationMode.POSITIVE]),  # read-only: the 403 and scoped-read paths
    ],
    ids=["county_admin", "inspector"],
)
def test_no_server_error_and_answers_match_the_schema(matrix_world, role, modes):
    checks = [not_a_server_error, content_type_conformance, response_schema_conformance]
    assert _fuzz(matrix_world, role, checks, modes) == []


def test_every_status_code_is_documented(matrix_world):
    checks = [status_code_conformance]
    assert _fuzz(matrix_world, Role.COUNTY_ADMIN, checks, [GenerationMode.POSITIVE]) == []


def test_a_huge_page_number_is_not_a_server_error(matrix_world):
    """Found by this fuzzer: a page number past the database's integer range overflowed OFFSET (500)."""
    from django.test import Client

    with _connection_kept_open():
        schema = schemathesis.openapi.from_wsgi("/api/openapi.json", get_wsgi_application())
    paged = [
        op.path for op in (result.ok() for result in schema.get_all_operations())
        if op.method == "get" and any(param.name == "page" for param in op.query)
    ]
    assert paged
    statuses = {}
    for path in paged:
        client = Client(raise_request_exception=False)
        client.force_login(matrix_world.users[Role.COUNTY_ADMIN])
        with transaction.atomic():
            statuses[path] = client.get(path, {"page": 10**30}).status_code
            transaction.set_rollback(True)
    assert {path: status for path, status in statuses.items() if status >= 500} == {}
