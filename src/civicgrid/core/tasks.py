"""Background tasks of core (django-tasks, database backend: `civicgrid db_worker`), and their schedule."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django_tasks import task

from civicgrid.core.audit import audit_archive_and_purge
from civicgrid.core.scheduling import Daily, recurring


@task()
def purge_audit_events() -> dict[str, Any]:
    """Archive, then delete, audit events past retention (R19); never younger rows (the database refuses)."""
    summary = audit_archive_and_purge(archive_dir=Path(settings.DATA_DIR) / "audit-archive")
    return {"expired": summary.expired, "deleted": summary.deleted, "archive": str(summary.archive or "")}


recurring("core.audit_purge", task=purge_audit_events, cadence=Daily(dt.time(3, 0)), title=_("审计日志到期归档清理"))
