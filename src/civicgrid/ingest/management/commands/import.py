"""`civicgrid import SCHEMA FILE [--dry-run] [--sheet NAME]`: import a file from the console with full
scope (no actor), a progress bar, the counts and the path of the error report. The exit status is
non-zero when the file is rejected (wrong type, limits, missing columns)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from tqdm import tqdm

from civicgrid.core.errors import ApplicationError
from civicgrid.ingest.models import ImportStatus
from civicgrid.ingest.registry import schemas
from civicgrid.ingest.services import run_import


class Command(BaseCommand):
    help = "Import an Excel/CSV/GeoJSON file into a registry (导入台账)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("schema", help="import schema, e.g. " + ", ".join(s.name for s in schemas()))
        parser.add_argument("file", help=".xlsx, .xls, .csv or .geojson")
        parser.add_argument("--dry-run", action="store_true", help="预检: validate and count, write nothing")
        parser.add_argument("--sheet", default="", help="import only this worksheet")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(_("文件不存在：%(path)s") % {"path": path})
        bar = tqdm(
            total=0, unit=_("行"), unit_scale=True, dynamic_ncols=True, disable=options["no_progress"],
            file=self.stderr._out, desc=options["schema"],  # type: ignore[attr-defined]
        )

        def progress(processed: int, total: int) -> None:
            if total and bar.total != total:
                bar.total = total
            bar.n = processed
            bar.refresh()

        try:
            job = run_import(
                actor=None, schema=options["schema"], path=path, dry_run=options["dry_run"],
                progress=progress, sheet=options["sheet"],
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        finally:
            bar.close()
        counts = {
            "schema": job.schema, "total": job.rows_total, "created": job.rows_created,
            "updated": job.rows_updated, "unchanged": job.rows_unchanged, "errors": job.rows_error,
        }
        if job.dry_run:
            line = _("预检 %(schema)s: 共 %(total)s 行，新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s，错误 %(errors)s")
        else:
            line = _("导入 %(schema)s: 共 %(total)s 行，新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s，错误 %(errors)s")
        self.stdout.write(line % counts)
        if job.error_report_path is not None:
            self.stdout.write(_("错误报告: %(path)s") % {"path": job.error_report_path})
        if job.status != ImportStatus.SUCCEEDED:
            raise CommandError(job.message or _("导入失败"))
        if job.message:
            self.stdout.write(job.message)
