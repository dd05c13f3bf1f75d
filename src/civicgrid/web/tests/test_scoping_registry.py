"""The scoping matrix over territory.scoping.REGISTRY: every registered policy, for actors inside town A,
on the parent district, without the action, inactive and anonymous. And every model that carries a
territory path or points at a scoped model must have a policy (or be on the explicit list below)."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import AnonymousUser
from django.db import models
from django.http import Http404

from civicgrid.accounts.roles import ROLE_ACTIONS, Action, Role
from civicgrid.territory.models import Grant, Node
from civicgrid.territory.scoping import REGISTRY, ScopePolicy
from civicgrid.testing import factories

# Models that carry a path or point at a scoped model but deliberately have no scope policy.
UNSCOPED = {
    "core.auditevent": "the audit trail: read only by the auditor role, across all scopes (三员分立)",
    "territory.historicalnode": "simple_history rows: no selector or page reads them",
    "territory.historicalassignment": "simple_history rows: no selector or page reads them",
    "people.historicalperson": "simple_history rows: no selector or page reads them",
    "ingest.importjob": "seen by its uploader, or within the scope by roles managing the territory "
    "(ingest.selectors.import_job_list, not expressible as a ScopePolicy); the URL matrix covers "
    "its pages and endpoints (object: import_job)",
}
PATH_FIELDS = {"path", "scope_path"}


def _scope_bearing_models() -> dict[str, str]:
    """label -> why the model needs a scope policy."""
    scoped_models = {policy.model for policy in REGISTRY.values()} | {Node}
    found = {}
    for model in apps.get_models():
        if not model.__module__.startswith("civicgrid."):
            continue
        for field in model._meta.concrete_fields:
            if field.name in PATH_FIELDS:
                found[model._meta.label_lower] = f"has a {field.name} field"
            elif field.is_relation and field.related_model in scoped_models:
                found[model._meta.label_lower] = f"{field.name} points at {field.related_model._meta.label_lower}"
    return found


def test_every_model_with_a_territory_scope_has_a_policy():
    missing = {
        label: reason for label, reason in _scope_bearing_models().items() if label not in REGISTRY and label not in UNSCOPED
    }
    assert missing == {}, "register a ScopePolicy (territory.scoping.register) or add the model to UNSCOPED with a reason"


def test_unscoped_list_has_no_stale_entries():
    known = {model._meta.label_lower for model in apps.get_models()}
    assert sorted(set(UNSCOPED) - known) == []
    assert sorted(set(UNSCOPED) & set(REGISTRY)) == []


def _role_holding(*actions: Action) -> Role:
    for role in Role:
        if set(actions) <= ROLE_ACTIONS[role]:
            return role
    raise AssertionError(f"no role holds {actions}")


def _role_lacking(action: Action) -> Role:
    return next(role for role in Role if action not in ROLE_ACTIONS[role])


def _path_of(row: models.Model, path_field: str) -> str:
    """The row's territory path, read by attribute traversal (independent of the policy's SQL)."""
    value: Any = row
    for part in path_field.split("__"):
        value = getattr(value, part)
    return str(value)


def _pks(queryset) -> set[int]:
    return set(queryset.values_list("pk", flat=True))


@pytest.fixture
def scoping_world(matrix_world):
    """matrix_world plus a grant in town B, so every registered model has rows in both towns."""
    factories.user_with_scope(Role.SYSTEM_ADMIN, matrix_world.world.town_b, username="system_admin_b")
    return matrix_world


def _rows_by_town(policy: ScopePolicy[Any], world) -> tuple[set[int], set[int]]:
    rows = list(policy.model._default_manager.all())
    in_a = {row.pk for row in rows if _path_of(row, policy.path_field).startswith(world.town_a.path)}
    in_b = {row.pk for row in rows if _path_of(row, policy.path_field).startswith(world.town_b.path)}
    assert in_a, f"the scoping world has no {policy.model._meta.label_lower} in town A: extend scoping_world"
    assert in_b, f"the scoping world has no {policy.model._meta.label_lower} in town B: extend scoping_world"
    return in_a, in_b


@pytest.mark.django_db
@pytest.mark.parametrize("label", sorted(REGISTRY))
@pytest.mark.parametrize("method", ["view", "change"])
def test_policy_limits_rows_to_the_granted_subtree(label, method, scoping_world):
    policy = REGISTRY[label]
    world = scoping_world.world
    action = policy.view_action if method == "view" else policy.change_action
    scoped = policy.viewable if method == "view" else policy.changeable
    get = policy.get_viewable if method == "view" else policy.get_changeable
    # Accounts first: their own grants are rows of the Grant policy.
    actor_a = factories.user_with_scope(_role_holding(action), world.town_a, username="actor_a")
    actor_district = factories.user_with_scope(_role_holding(action), world.district, username="actor_district")
    lacking = factories.user_with_scope(_role_lacking(action), world.district, username="actor_lacking")
    no_grant = factories.UserFactory(role=_role_holding(action), username="actor_no_grant")

    in_a, in_b = _rows_by_town(policy, world)
    under_district = {
        row.pk for row in policy.model._default_manager.all()
        if _path_of(row, policy.path_field).startswith(world.district.path)
    }
    pk_a, pk_b = min(in_a), min(in_b)
    missing = max(_pks(policy.model._default_manager.all())) + 1000

    assert _pks(scoped(actor_a)) == in_a
    assert get(actor_a, pk_a).pk == pk_a
    for foreign in (pk_b, missing, "x", None):
        with pytest.raises(Http404):
            get(actor_a, foreign)

    assert _pks(scoped(actor_district)) == under_district
    assert in_a | in_b <= under_district
    assert get(actor_district, pk_b).pk == pk_b

    assert _pks(scoped(lacking)) == set()
    with pytest.raises(Http404):
        get(lacking, pk_a)
    assert _pks(scoped(no_grant)) == set()
    assert _pks(scoped(AnonymousUser())) == set()
    assert _pks(scoped(None)) == set()
    actor_district.is_active = False
    assert _pks(scoped(actor_district)) == set()


@pytest.mark.django_db
def test_narrowing_a_queryset_keeps_the_scope(scoping_world):
    # Callers may pass their own queryset; the policy filters it, never replaces the filter.
    person_policy = REGISTRY["people.person"]
    world = scoping_world.world
    actor = scoping_world.users[Role.COUNTY_ADMIN]
    everyone = person_policy.model._default_manager.all()
    assert world.person_b.pk in _pks(everyone)
    assert world.person_b.pk not in _pks(person_policy.viewable(actor, everyone))


@pytest.mark.django_db
def test_grant_on_an_inactive_node_gives_no_scope(scoping_world):
    world = scoping_world.world
    actor = factories.user_with_scope(Role.COUNTY_ADMIN, world.town_b, username="inactive_grant")
    Node.objects.filter(pk=world.town_b.pk).update(is_active=False)
    assert _pks(REGISTRY["territory.node"].viewable(actor)) == set()
    assert Grant.objects.filter(user=actor).count() == 1
