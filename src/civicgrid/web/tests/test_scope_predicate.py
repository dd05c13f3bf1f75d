"""R12: on every list page and list endpoint, each SELECT on a scoped table carries the territory
path predicate (`path LIKE '/1/2/%'` / `scope_path LIKE ...`), so no query reads rows by id alone."""

from __future__ import annotations

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from civicgrid.accounts.roles import ROLE_ACTIONS, Role
from civicgrid.territory.scoping import REGISTRY
from civicgrid.web.tests.routes import all_routes, fill, matrix, url_for

MATRIX = matrix()
LIST_ROUTES = [
    route for route in all_routes()
    if route.name in MATRIX.routes and not route.args and MATRIX.routes[route.name].method == "GET"
    and not MATRIX.routes[route.name].unscoped
]
PATH_PREDICATE = re.compile(r'"(?:path|scope_path)"(?:::text)? LIKE', re.IGNORECASE)
MAIN_TABLE = re.compile(r'\bFROM "(\w+)"', re.IGNORECASE)
# The one query that may read a scoped table without the predicate: the actor's own grants, which
# *are* the scope (territory.scoping.scope_paths).
SCOPE_LOOKUP = re.compile(
    r'^SELECT "territory_node"\."path" AS "node__path" FROM "territory_grant" INNER JOIN "territory_node" '
    r'ON \("territory_grant"\."node_id" = "territory_node"\."id"\) '
    r'WHERE \("territory_node"\."is_active" AND "territory_grant"\."user_id" = \d+\)$'
)


def _scoped_tables() -> set[str]:
    return {policy.model._meta.db_table for policy in REGISTRY.values()}


@pytest.mark.django_db
@pytest.mark.parametrize("route", LIST_ROUTES, ids=str)
def test_every_select_on_a_scoped_table_has_the_path_predicate(route, matrix_world):
    entry = MATRIX.routes[route.name]
    role = next(role for role in Role if role.value in entry.allow and entry.action in ROLE_ACTIONS[role])
    client = matrix_world.client_for(role)
    scoped_tables = _scoped_tables()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url_for(route), fill(entry.query, matrix_world.ids(inside=True)))
    assert response.status_code == 200
    unscoped = []
    touched = set()
    for query in captured.captured_queries:
        sql = query["sql"]
        if not sql.lstrip().upper().startswith("SELECT"):
            continue
        main = MAIN_TABLE.search(sql)
        if main is None or main.group(1) not in scoped_tables:
            continue
        touched.add(main.group(1))
        if SCOPE_LOOKUP.search(sql):
            continue
        if not PATH_PREDICATE.search(sql):
            unscoped.append(sql)
    assert unscoped == []
    assert touched, f"{route.name} read no scoped table: is it really a list of scoped data?"
