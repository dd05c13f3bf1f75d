"""Write audit events. Services call `record` inside their transaction so the audit row and the
business write commit or fail together (an audit failure blocks the write)."""

from __future__ import annotations

import datetime as dt
import decimal
import gzip
import os
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
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


@dataclass(frozen=True)
class AuditPurgeSummary:
    expired: int
    deleted: int
    archive: Path | None


def audit_archive_and_purge(
    *, archive_dir: Path, now: dt.datetime | None = None, dry_run: bool = False
) -> AuditPurgeSummary:
    """Archive audit events past retention to a gzip'd JSON-lines file (flushed to disk), then delete
    exactly those; if the count differs nothing is deleted (R19). Used by `audit_purge` and its task."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=settings.CIVICGRID_AUDIT_RETENTION_DAYS)
    expired = AuditEvent.objects.filter(ts__lt=cutoff).order_by("ts", "id")
    count = expired.count()
    if dry_run or count == 0:
        return AuditPurgeSummary(expired=count, deleted=0, archive=None)
    archive = _archive(expired, archive_dir, now)
    with transaction.atomic():
        deleted = audit_purge(now=now)
        if deleted != count:
            raise AuditPurgeMismatch(f"archived {count} audit events but {deleted} matched for deletion; nothing deleted")
    return AuditPurgeSummary(expired=count, deleted=deleted, archive=archive)


class AuditPurgeMismatch(RuntimeError):
    """Rows appeared or vanished between archiving and deleting: the deletion was rolled back."""


def _archive(queryset: Any, directory: Path, now: dt.datetime) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-{now:%Y%m%dT%H%M%S}.jsonl.gz"
    with open(path, "xb") as raw, gzip.open(raw, "wt", encoding="utf-8") as stream:
        serializers.serialize("jsonl", queryset.iterator(), stream=stream)
        stream.flush()
        raw.flush()
        os.fsync(raw.fileno())
    return path


__all__ = [
    "AuditAction",
    "AuditPurgeMismatch",
    "AuditPurgeSummary",
    "audit_archive_and_purge",
    "audit_purge",
    "changed",
    "record",
    "snapshot",
]
