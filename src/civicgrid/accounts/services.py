"""Writes on an account that need no territory: the user's own password change ends the
temporary-password state. Administration of accounts (which grants data scopes) is in
accounts.administration."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from civicgrid.accounts.models import User
from civicgrid.core import audit
from civicgrid.core.models import AuditAction


def account_password_changed(*, user: Any) -> None:
    """The user chose their own password: drop the must-change flag (audited when it was set)."""
    if not getattr(user, "must_change_password", False):
        return
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(must_change_password=False)
        user.must_change_password = False
        audit.record(
            actor=user, action=AuditAction.UPDATE, instance=user,
            before={"must_change_password": True}, after={"must_change_password": False},
        )
