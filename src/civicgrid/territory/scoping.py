"""THE scoping layer. Every query that returns data goes through a `ScopePolicy`: the actor's role
must hold the action, and rows are limited to the territory subtrees granted to the actor
(数据范围). Each app declares one policy per model in its policies.py and registers it; the
scoping test matrix walks the registry, so a new registry cannot escape it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import ObjectDoesNotExist
from django.db import models
from django.db.models import Q, QuerySet
from django.http import Http404

from civicgrid.accounts.roles import Action

M = TypeVar("M", bound=models.Model)

_CACHE_ATTRIBUTE = "_civicgrid_scope_paths"


def scope_paths(actor: Any) -> tuple[str, ...]:
    """Materialised paths of the subtrees granted to the actor, without nested duplicates (cached per actor object)."""
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        return ()
    cached = getattr(actor, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    from civicgrid.territory.models import Grant

    paths = sorted(Grant.objects.filter(user=actor, node__is_active=True).values_list("node__path", flat=True))
    minimal: list[str] = []
    for path in paths:
        if not any(path.startswith(kept) for kept in minimal):
            minimal.append(path)
    result = tuple(minimal)
    setattr(actor, _CACHE_ATTRIBUTE, result)
    return result


def forget_scope(actor: Any) -> None:
    """Drop the cached scope after the actor's grants change."""
    if hasattr(actor, _CACHE_ATTRIBUTE):
        delattr(actor, _CACHE_ATTRIBUTE)


def path_in_scope(actor: Any, path: str) -> bool:
    """Whether a materialised path lies inside the actor's granted subtrees."""
    return any(path.startswith(prefix) for prefix in scope_paths(actor))


def scope_q(actor: Any, path_field: str) -> Q | None:
    """A filter restricting `path_field` to the actor's subtrees, or None when the actor has none."""
    paths = scope_paths(actor)
    if not paths:
        return None
    condition = Q()
    for path in paths:
        condition |= Q(**{f"{path_field}__startswith": path})
    return condition


@dataclass(frozen=True)
class ScopePolicy(Generic[M]):
    """Which rows of one model an actor may view or change."""

    model: type[M]
    path_field: str
    view_action: Action
    change_action: Action

    def _scoped(self, actor: Any, action: Action, queryset: QuerySet[M] | None) -> QuerySet[M]:
        base = queryset if queryset is not None else self.model._default_manager.all()
        if actor is None or not getattr(actor, "is_authenticated", False) or not actor.can(action):
            return base.none()
        condition = scope_q(actor, self.path_field)
        if condition is None:
            return base.none()
        return base.filter(condition)

    def viewable(self, actor: Any, queryset: QuerySet[M] | None = None) -> QuerySet[M]:
        """Rows the actor may read."""
        return self._scoped(actor, self.view_action, queryset)

    def changeable(self, actor: Any, queryset: QuerySet[M] | None = None) -> QuerySet[M]:
        """Rows the actor may modify."""
        return self._scoped(actor, self.change_action, queryset)

    def get_viewable(self, actor: Any, pk: Any, queryset: QuerySet[M] | None = None) -> M:
        """One row the actor may read; missing and out-of-scope are the same 404."""
        try:
            return self.viewable(actor, queryset).get(pk=pk)
        except (ObjectDoesNotExist, ValueError, TypeError) as exc:
            raise Http404 from exc

    def get_changeable(self, actor: Any, pk: Any, queryset: QuerySet[M] | None = None) -> M:
        """One row the actor may modify; missing and out-of-scope are the same 404."""
        try:
            return self.changeable(actor, queryset).get(pk=pk)
        except (ObjectDoesNotExist, ValueError, TypeError) as exc:
            raise Http404 from exc


REGISTRY: dict[str, ScopePolicy[Any]] = {}


def register(policy: ScopePolicy[M]) -> ScopePolicy[M]:
    """Add a policy to the registry the scoping test matrix walks."""
    REGISTRY[policy.model._meta.label_lower] = policy
    return policy
