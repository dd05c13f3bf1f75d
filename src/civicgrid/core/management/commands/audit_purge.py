"""`civicgrid audit_purge`: archive, then delete, audit events older than the retention period (R19).

Rows are written to a gzip'd JSON-lines file and flushed to disk before anything is deleted; the
deletion runs in the same transaction as a count check, so a row is never deleted unarchived. The
database triggers (core.db_guards) refuse any DELETE of a row younger than 180 days whatever the
settings say, so a misconfigured retention makes the purge fail instead of losing logs. The
scheduler runs the same service daily (core.tasks.purge_audit_events)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from civicgrid.core.audit import AuditPurgeMismatch, audit_archive_and_purge


class Command(BaseCommand):
    help = "Archive and delete audit events older than CIVICGRID_AUDIT_RETENTION_DAYS (never younger ones)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--archive-dir",
            default=str(Path(settings.DATA_DIR) / "audit-archive"),
            help="Directory for the archive file (default: DATA_DIR/audit-archive).",
        )
        parser.add_argument("--dry-run", action="store_true", help="Only say how many rows would be purged.")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        days = settings.CIVICGRID_AUDIT_RETENTION_DAYS
        try:
            summary = audit_archive_and_purge(
                archive_dir=Path(options["archive_dir"]), now=now, dry_run=options["dry_run"]
            )
        except AuditPurgeMismatch as exc:
            raise CommandError(str(exc)) from exc
        if summary.archive is None:
            cutoff = now - dt.timedelta(days=days)
            self.stdout.write(f"{summary.expired} audit events older than {days} days (before {cutoff:%Y-%m-%d %H:%M}).")
            return
        self.stdout.write(f"Archived {summary.expired} audit events to {summary.archive} and deleted {summary.deleted}.")
