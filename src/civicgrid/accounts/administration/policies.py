"""Which accounts a system administrator may see and manage (数据范围 applied to accounts).

An account belongs where its data-scope grants are. An administrator sees and manages an account only
when every grant of that account lies inside the administrator's own granted subtrees: managing an
account that also reaches town B would let a town-A administrator act on town B's access. Accounts
without any grant (e.g. a newly imported auditor) belong to no town: only an administrator holding a
root grant (a grant on a top-level node of the tree) sees them. System administrator and auditor
accounts (the other two of the 三员) — and superusers — are managed only by an administrator holding
a root grant; others may see them in their scope but not change them. The administrator's own account
is visible, but its role and active state cannot be changed by itself."""

from __future__ import annotations

from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import Http404

from civicgrid.accounts.models import User
from civicgrid.accounts.roles import Action, Role
from civicgrid.territory.models import Grant
from civicgrid.territory.scoping import scope_paths, scope_q

# The other administrators of 三员分立: only an administrator over the whole tree manages them.
PRIVILEGED_ROLES = frozenset({Role.SYSTEM_ADMIN.value, Role.AUDITOR.value})


def is_account_manager(actor: Any) -> bool:
    """Whether the actor is a signed-in, active account whose role holds MANAGE_ACCOUNTS."""
    return bool(actor is not None and getattr(actor, "is_authenticated", False) and actor.can(Action.MANAGE_ACCOUNTS))


def has_root_grant(actor: Any) -> bool:
    """Whether the actor holds a grant on a top-level node (materialised path `/<id>/`)."""
    return is_account_manager(actor) and any(path.count("/") == 2 for path in scope_paths(actor))


def is_privileged(account: User) -> bool:
    """System administrators, auditors and superusers: managed only with a root grant."""
    return account.role in PRIVILEGED_ROLES or bool(account.is_superuser)


def manageable_accounts(actor: Any) -> QuerySet[User]:
    """Accounts the actor may see on the account pages: every grant inside the actor's scope
    (plus accounts without grants for a root-grant holder)."""
    if not is_account_manager(actor):
        return User.objects.none()
    inside = scope_q(actor, "node__path")
    if inside is None:
        return User.objects.none()
    grants = Grant.objects.filter(user=OuterRef("pk"))
    condition = Q(Exists(grants.filter(inside)))
    if has_root_grant(actor):
        condition |= ~Q(Exists(grants))
    return User.objects.filter(condition).exclude(Exists(grants.exclude(inside)))


def get_manageable(actor: Any, username: str) -> User:
    """One account the actor may see; missing and out-of-scope are the same 404."""
    try:
        return manageable_accounts(actor).get(username=username)
    except (User.DoesNotExist, ValueError, TypeError) as exc:
        raise Http404 from exc


def can_change(actor: Any, account: User) -> bool:
    """Whether the actor may change the account (in scope; privileged accounts need a root grant)."""
    if not manageable_accounts(actor).filter(pk=account.pk).exists():
        return False
    return not is_privileged(account) or has_root_grant(actor)
