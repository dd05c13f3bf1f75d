"""Reads of the account pages: accounts, their grants and linked person as the administrator may see
them, lockout state from django-axes, and the territory nodes the administrator may grant."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from axes.helpers import get_cool_off
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from civicgrid.accounts.administration.policies import get_manageable, manageable_accounts
from civicgrid.accounts.models import User
from civicgrid.core.masking import mask_id_number, mask_name
from civicgrid.people.models import Person
from civicgrid.territory.models import Grant, Node
from civicgrid.territory.scoping import scope_q

STATUS_ACTIVE = "active"
STATUS_INACTIVE = "inactive"
STATUS_LOCKED = "locked"
STATUS_MUST_CHANGE = "must_change"


def _locked_attempts() -> QuerySet[AccessAttempt]:
    """Failed-sign-in records that currently lock a user+address pair (R3: 5 failures, 30 minutes)."""
    attempts = AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT)
    cool_off = get_cool_off()
    if cool_off is not None:
        attempts = attempts.filter(attempt_time__gte=timezone.now() - cool_off)
    return attempts


def locked_usernames(usernames: Iterable[str]) -> set[str]:
    """Which of the usernames are locked out from at least one address."""
    names = list(usernames)
    if not names:
        return set()
    return set(_locked_attempts().filter(username__in=names).values_list("username", flat=True))


def account_list(*, actor: Any, role: str = "", status: str = "", search: str = "") -> QuerySet[User]:
    """Accounts the actor may see, by role, state (active / inactive / locked / must change) and
    username or display name."""
    queryset = manageable_accounts(actor)
    if role:
        queryset = queryset.filter(role=role)
    if status == STATUS_ACTIVE:
        queryset = queryset.filter(is_active=True)
    elif status == STATUS_INACTIVE:
        queryset = queryset.filter(is_active=False)
    elif status == STATUS_LOCKED:
        queryset = queryset.filter(username__in=_locked_attempts().values("username"))
    elif status == STATUS_MUST_CHANGE:
        queryset = queryset.filter(must_change_password=True)
    search = search.strip()
    if search:
        queryset = queryset.filter(
            Q(username__icontains=search) | Q(display_name__contains=search) | Q(department__contains=search)
        )
    return queryset.order_by("username")


def account_get(*, actor: Any, username: str) -> User:
    """One account the actor may see, else 404."""
    return get_manageable(actor, username)


def grants_by_account(*, actor: Any, accounts: Iterable[User]) -> dict[int, list[Grant]]:
    """The grants of the accounts, inside the actor's scope (all of them, for accounts the actor sees)."""
    ids = [account.pk for account in accounts]
    inside = scope_q(actor, "node__path")
    result: dict[int, list[Grant]] = defaultdict(list)
    if not ids or inside is None:
        return result
    for grant in Grant.objects.filter(inside, user_id__in=ids).select_related("node").order_by("node__path"):
        result[grant.user_id].append(grant)
    return result


def grantable_nodes(*, actor: Any) -> QuerySet[Node]:
    """Active nodes inside the actor's granted subtrees, in tree order (the data scopes it may give)."""
    inside = scope_q(actor, "path")
    if inside is None:
        return Node.objects.none()
    return Node.objects.filter(inside, is_active=True).only("pk", "code", "name", "kind", "depth", "path").order_by("path")


@dataclass(frozen=True)
class LinkedPerson:
    """The person an account is linked to, as a system administrator may see it: masked, never more."""

    name: str
    id_number: str
    node_name: str


def linked_person(*, actor: Any, account: User) -> LinkedPerson | None:
    """The account's person record, masked (name masked too: the administrator reads no personal data);
    None when there is none or it lives outside the actor's scope."""
    inside = scope_q(actor, "scope_path")
    if inside is None:
        return None
    person = (
        Person.objects.filter(inside, account=account, deleted_at__isnull=True).select_related("address_node").first()
    )
    if person is None:
        return None
    return LinkedPerson(
        name=mask_name(person.name), id_number=mask_id_number(person.id_number), node_name=person.address_node.name
    )

