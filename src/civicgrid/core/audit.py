"""Write audit events. Services call `record` inside their transaction so the audit row and the
business write commit or fail together (an audit failure blocks the write)."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from civicgrid.core.context import client_ip
from civicgrid.core.models import AuditAction, AuditEvent

SENSITIVE_FIELD_NAMES = frozenset({"id_number", "phone", "password"})


def snapshot(instance: models.Model, *, fields: list[str] | None = None) -> dict[str, Any]:
    """Field values of a model instance as JSON-safe data, sensitive fields masked."""
    from civicgrid.core.masking import mask_id_number, mask_phone

    data: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        value = getattr(instance, field.attname)
        if field.name == "id_number":
            value = mask_id_number(value)
        elif field.name == "phone":
            value = mask_phone(value)
        elif field.name == "password":
            continue
        data[field.name] = _json_safe(value)
    return data


def _json_safe(value: Any) -> Any:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    return value


def record(
    *,
    actor: Any,
    action: str,
    instance: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    scope_path: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    success: bool = True,
    reason: str = "",
) -> AuditEvent:
    """Append one audit event; the client address comes from the current request, if any."""
    if instance is not None:
        object_type = object_type or instance._meta.label_lower
        object_id = object_id or str(instance.pk)
        object_repr = object_repr or str(instance)[:200]
        scope_path = scope_path or str(getattr(instance, "scope_path", "") or "")
    authenticated = actor is not None and getattr(actor, "is_authenticated", False)
    return AuditEvent.objects.create(
        actor=actor if authenticated else None,
        actor_username=getattr(actor, "username", "") or "",
        ip=client_ip.get() or "",
        action=action,
        success=success,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        scope_path=scope_path,
        before=before,
        after=after,
        reason=reason[:200],
    )


def changed(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Keep only the fields whose value differs, so the trail reads as a diff."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def audit_purge(*, now: dt.datetime | None = None) -> int:
    """Delete audit events older than the retention period; the database refuses younger ones."""
    cutoff = (now or timezone.now()) - dt.timedelta(days=settings.CIVICGRID_AUDIT_RETENTION_DAYS)
    with transaction.atomic():
        deleted, _ = AuditEvent.objects.filter(ts__lt=cutoff).delete()
    return deleted


__all__ = ["AuditAction", "audit_purge", "changed", "record", "snapshot"]
