"""`civicgrid audit_purge`: archive, then delete, audit events older than the retention period (R19).

Rows are written to a gzip'd JSON-lines file and flushed to disk before anything is deleted; the
deletion runs in the same transaction as a count check, so a row is never deleted unarchived. The
database triggers (core.db_guards) refuse any DELETE of a row younger than 180 days whatever the
settings say, so a misconfigured retention makes the purge fail instead of losing logs."""

from __future__ import annotations

import datetime as dt
import gzip
import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core import serializers
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from civicgrid.core.audit import audit_purge
from civicgrid.core.models import AuditEvent


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
        cutoff = now - dt.timedelta(days=days)
        expired = AuditEvent.objects.filter(ts__lt=cutoff).order_by("ts", "id")
        count = expired.count()
        if options["dry_run"] or count == 0:
            self.stdout.write(f"{count} audit events older than {days} days (before {cutoff:%Y-%m-%d %H:%M}).")
            return
        archive = self._archive(expired, Path(options["archive_dir"]), now)
        with transaction.atomic():
            deleted = audit_purge(now=now)
            if deleted != count:
                raise CommandError(f"archived {count} audit events but {deleted} matched for deletion; nothing deleted")
        self.stdout.write(f"Archived {count} audit events to {archive} and deleted {deleted}.")

    def _archive(self, queryset: Any, directory: Path, now: dt.datetime) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"audit-{now:%Y%m%dT%H%M%S}.jsonl.gz"
        with open(path, "xb") as raw, gzip.open(raw, "wt", encoding="utf-8") as stream:
            serializers.serialize("jsonl", queryset.iterator(), stream=stream)
            stream.flush()
            raw.flush()
            os.fsync(raw.fileno())
        return path
