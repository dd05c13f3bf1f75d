"""Authentication events are emitted by Django itself; we only record them in the audit trail (R17)."""

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from civicgrid.core import audit
from civicgrid.core.logging import redact
from civicgrid.core.models import AuditAction


@receiver(user_logged_in)
def _on_login(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if request is not None and hasattr(request, "session"):
        request.session["login_at"] = timezone.now().timestamp()
        request.session["last_activity"] = timezone.now().timestamp()
    audit.record(actor=user, action=AuditAction.LOGIN, object_type="accounts.user", object_id=str(user.pk))


@receiver(user_logged_out)
def _on_logout(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
    if user is not None:
        audit.record(actor=user, action=AuditAction.LOGOUT, object_type="accounts.user", object_id=str(user.pk))


@receiver(user_login_failed)
def _on_login_failed(sender: Any, credentials: dict[str, Any], request: Any = None, **kwargs: Any) -> None:
    username = str(credentials.get("username", ""))[:150]
    user = get_user_model().objects.filter(username=username).first()
    # Nobody is signed in: the attempt has no actor (naming the tried account as actor would read as
    # if its holder had acted). The tried account is the object; what was typed as the account name is
    # kept in the event data, masked (people type their ID or phone number there).
    typed = redact(username)
    audit.record(
        actor=None, action=AuditAction.LOGIN_FAILED, success=False, object_type="accounts.user",
        object_id=str(user.pk) if user else "", object_repr=typed, after={"attempted_username": typed},
    )
