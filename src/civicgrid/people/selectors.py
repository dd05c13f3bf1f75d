"""Reads on the person registry, scoped, soft-deleted rows hidden."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from civicgrid.people.models import Person
from civicgrid.people.policies import person_policy
from civicgrid.territory.models import Node


def person_list(*, actor: Any, node: Node | None = None, search: str = "") -> QuerySet[Person]:
    """People in scope (optionally living under a node), matching a name or ID-number prefix."""
    queryset = person_policy.viewable(actor).filter(deleted_at__isnull=True).select_related("address_node")
    if node is not None:
        queryset = queryset.filter(scope_path__startswith=node.path)
    search = search.strip()
    if search:
        queryset = queryset.filter(Q(name__startswith=search) | Q(id_number=search.upper()))
    return queryset


def person_get(*, actor: Any, pk: Any) -> Person:
    """One person in scope, else 404 (missing, deleted and out of scope look the same)."""
    return person_policy.get_viewable(actor, pk, Person.objects.filter(deleted_at__isnull=True))
