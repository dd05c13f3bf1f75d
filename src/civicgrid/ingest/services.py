"""Writes of the import pipeline: start an import (check, store, queue), run it, reap dead jobs.

Transactions: each batch of rows commits together with the job's progress, so after a crash the
job row says exactly how far the import got, and importing the same file again completes it
(imports are idempotent upserts by natural key). A dry run (预检) rolls every batch back.
Row history of bulk-imported rows is the ImportJob with its stored file and error report, plus one
audit event per import with the counts: bulk writes bypass per-row audit and simple-history rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import logging
import os
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from civicgrid.accounts.roles import Action
from civicgrid.core import audit
from civicgrid.core.context import client_ip
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction
from civicgrid.ingest import files
from civicgrid.ingest.files import FileInfo, FileRejected
from civicgrid.ingest.models import STALE_AFTER, ImportJob, ImportStatus
from civicgrid.ingest.pipeline import Counts, Pipeline
from civicgrid.ingest.readers import open_source
from civicgrid.ingest.registry import FORMAT_GEOJSON, ImportContext, ImportSchema, get_schema
from civicgrid.ingest.report import ErrorReport
from civicgrid.territory.scoping import path_in_scope, scope_paths

logger = logging.getLogger(__name__)

UPLOAD_DIRECTORY = "imports"
REPORT_DIRECTORY = "imports/reports"
SQLITE_IMPORT_CACHE_KIB = 256 * 1024  # an upper bound: pages are cached only as they are read
SQLITE_IMPORT_CHECKPOINT_PAGES = 25_600  # 100 MiB of WAL at 4 KiB pages
Progress = Callable[[int, int], None]


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def check_can_import(*, actor: Any, schema: ImportSchema) -> None:
    """Raise ApplicationError unless the actor may import into this registry (console: always)."""
    if actor is None:
        return
    if not getattr(actor, "is_authenticated", False) or not actor.can(Action.IMPORT):
        raise ApplicationError(_("您的角色无权导入数据"))
    if schema.required_action and not actor.can(Action(schema.required_action)):
        raise ApplicationError(_("您的角色无权导入“%(schema)s”") % {"schema": schema.label})
    if not scope_paths(actor):
        raise ApplicationError(_("您没有数据范围，无法导入"))


def _job_scope(actor: Any, scope_root: Any) -> str:
    """The path a job is filed under: its scope root, else the deepest path covering the actor's grants."""
    if scope_root is not None:
        return str(scope_root.path)
    if actor is None:
        return ""
    paths = scope_paths(actor)
    if not paths:
        return ""
    common = os.path.commonprefix(list(paths))
    return common[: common.rfind("/") + 1]


def _context_scope(job: ImportJob) -> tuple[str, ...] | None:
    """Paths rows of this job may touch: the actor's grants, narrowed to the scope root if any."""
    root_path = job.scope_root.path if job.scope_root_id and job.scope_root is not None else None
    if job.actor is None:
        return (root_path,) if root_path else None
    paths = scope_paths(job.actor)
    if root_path:
        return (root_path,) if path_in_scope(job.actor, root_path) else ()
    return paths


def _record_rejection(*, actor: Any, schema: ImportSchema, filename: str, reason: str) -> None:
    audit.record(
        actor=actor, action=AuditAction.IMPORT, object_type="ingest.importjob",
        object_repr=f"{schema.label}：{filename}", success=False, reason=reason,
        after={"schema": schema.name, "status": "rejected"},
    )


def import_start(
    *,
    actor: Any,
    schema: str,
    uploaded_file: Any = None,
    path: str | Path | None = None,
    dry_run: bool = False,
    original_filename: str = "",
    sheet: str = "",
    scope_root: Any = None,
    enqueue: bool = True,
) -> ImportJob:
    """Check the actor's right and the file (type by content, size, rows, zip bomb), store it under
    MEDIA_ROOT/imports/ and queue the import task after commit; the job records the active language,
    in which the worker will write its messages and error report. A rejected file raises
    ApplicationError (FileRejected) and leaves nothing behind but an audit event."""
    definition = get_schema(schema)
    check_can_import(actor=actor, schema=definition)
    import_job_reap_stale()
    if (uploaded_file is None) == (path is None):
        raise ValueError("pass exactly one of uploaded_file and path")
    if scope_root is not None and actor is not None and not path_in_scope(actor, scope_root.path):
        raise ApplicationError(_("限定网格不在您的数据范围内"))
    filename = Path(original_filename or getattr(uploaded_file, "name", "") or str(path)).name[:200] or "upload"
    stored: Path | None = None
    try:
        stored = files.store(uploaded_file if uploaded_file is not None else Path(str(path)),
                             _media_root() / UPLOAD_DIRECTORY)
        info = files.inspect(stored, file_format=definition.file_format)
    except FileRejected as exc:
        files.remove(stored)
        _record_rejection(actor=actor, schema=definition, filename=filename, reason=exc.message)
        raise
    except OSError as exc:
        files.remove(stored)
        raise ApplicationError(_("文件无法读取")) from exc
    # The stored name carries the sniffed type, never the uploaded extension.
    final = stored.with_suffix("." + info.extension)
    stored.rename(final)
    with transaction.atomic():
        job = ImportJob.objects.create(
            schema=definition.name,
            original_filename=filename,
            file=str(final.relative_to(_media_root())),
            file_format=info.format,
            sheet=sheet.strip()[:100],
            actor=actor if actor is not None else None,
            scope_root=scope_root,
            scope_path=_job_scope(actor, scope_root),
            dry_run=dry_run,
            rows_total=info.rows_estimate,
            client_ip=(client_ip.get() or "")[:64],
            language=_job_language(),
        )
        if enqueue:
            transaction.on_commit(functools.partial(_enqueue, job.pk))
    return job


def _job_language() -> str:
    """The active language if the site offers it, else blank (the default language)."""
    active = translation.get_language() or ""
    return active if active in dict(settings.LANGUAGES) else ""


def _language_of(job: ImportJob) -> str:
    return job.language if job.language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def _enqueue(job_id: Any) -> None:
    try:
        from civicgrid.ingest.tasks import run_import_job

        result = run_import_job.enqueue(str(job_id))
    except Exception as exc:
        # The upload is committed; say on the job why it will never run instead of queueing forever.
        logger.error("could not queue import job %s: %s", job_id, type(exc).__name__)
        ImportJob.objects.filter(pk=job_id, status=ImportStatus.QUEUED).update(
            status=ImportStatus.FAILED, finished_at=timezone.now(),
            message=_("无法提交后台任务，请稍后重新上传"),
        )
        return
    ImportJob.objects.filter(pk=job_id).update(task_id=str(result.id))


def import_run(*, job: ImportJob, progress: Progress | None = None, batch_size: int | None = None) -> ImportJob:
    """Run a queued import: read and validate every row, write good rows in batches, write the error
    report, finish the job and its audit event. A job that is not queued is returned untouched, so a
    retried task never imports twice. Unexpected errors mark the job failed and propagate. Messages
    and the error report are in the language of the user who started the import."""
    with translation.override(_language_of(job)):
        return _import_run(job=job, progress=progress, batch_size=batch_size)


def _import_run(*, job: ImportJob, progress: Progress | None, batch_size: int | None) -> ImportJob:
    now = timezone.now()
    claimed = ImportJob.objects.filter(pk=job.pk, status=ImportStatus.QUEUED).update(
        status=ImportStatus.RUNNING, started_at=now, heartbeat_at=now
    )
    job.refresh_from_db()
    if not claimed:
        return job
    token = client_ip.set(job.client_ip or None)
    report = ErrorReport()
    pipeline: Pipeline | None = None
    try:
        definition = get_schema(job.schema)
        total_estimate = job.rows_total

        def on_progress(counts: Counts, final: bool) -> None:
            # rows_processed: rows read and checked so far (the bar); the other counters are what the
            # committed batches did, written in the same transaction as the batch.
            ImportJob.objects.filter(pk=job.pk).update(
                rows_processed=counts.total, rows_created=counts.created, rows_updated=counts.updated,
                rows_unchanged=counts.unchanged, rows_error=counts.errors, heartbeat_at=timezone.now(),
            )
            if progress is not None:
                progress(counts.total, counts.total if final else max(total_estimate, counts.total))

        try:
            check_can_import(actor=job.actor, schema=definition)
            info = files.inspect(job.file_path, file_format=definition.file_format)
            context = ImportContext(
                actor=job.actor, dry_run=job.dry_run, now=now, today=timezone.localdate(),
                scope_paths=_context_scope(job), job_id=str(job.pk),
            )
            pipeline = _build_pipeline(job, definition, info, context, report, on_progress, batch_size)
            try:
                plans = pipeline.plan()
                with _bulk_write_tuning():
                    counts = pipeline.run(plans)
            finally:
                pipeline.source.close()
            ignored = sorted({text for plan in plans for text in plan.ignored})
            message = _summary_message(counts, job.dry_run, ignored, report)
            status = ImportStatus.SUCCEEDED
        except ApplicationError as exc:
            # A rejected file: nothing was written (headers are checked before the first batch).
            counts = pipeline.counts if pipeline is not None else Counts()
            message, status = exc.message, ImportStatus.FAILED
        report_name = _write_report(job, definition, report, counts, status, message)
        _finish(job, definition, counts, status, message, report_name)
    except BaseException as exc:
        # The exception's text may quote a row (a database error names the conflicting ID number):
        # log its type and where it happened, never its message (R20).
        logger.error(
            "import job %s failed: %s\n%s", job.pk, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__))
        )
        counts = pipeline.counts if pipeline is not None else Counts()
        message = _("导入中断（%(error)s）。已提交的批次见计数；导入可重复执行，重新导入同一文件即可补全") % {
            "error": type(exc).__name__
        }
        try:
            _finish(job, get_schema(job.schema), counts, ImportStatus.FAILED, message, "")
        except Exception as finish_error:  # the database itself may be gone; the reaper marks the job later
            logger.error("could not mark import job %s failed: %s", job.pk, type(finish_error).__name__)
        raise
    finally:
        report.close()
        client_ip.reset(token)
    job.refresh_from_db()
    return job


@contextlib.contextmanager
def _bulk_write_tuning() -> Iterator[None]:
    """On SQLite, while an import writes: a page cache big enough for the indexes of a million-row
    table (the default 2 MB makes every batch re-read index pages), and a WAL checkpoint every
    SQLITE_IMPORT_CHECKPOINT_PAGES instead of every 1,000 pages (each checkpoint copies the index pages
    every batch touches back into the database file again). Both restored afterwards."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        previous_cache = int(cursor.fetchone()[0])
        cursor.execute("PRAGMA wal_autocheckpoint")
        previous_checkpoint = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_IMPORT_CACHE_KIB}")
        cursor.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_IMPORT_CHECKPOINT_PAGES}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {previous_cache}")
            cursor.execute(f"PRAGMA wal_autocheckpoint = {previous_checkpoint}")


def _build_pipeline(
    job: ImportJob, definition: ImportSchema, info: FileInfo, context: ImportContext, report: ErrorReport,
    on_progress: Callable[[Counts, bool], None], batch_size: int | None,
) -> Pipeline:
    source = open_source(job.file_path, info, display_name=job.original_filename)
    return Pipeline(
        schema=definition, source=source, context=context, report=report, sheet=job.sheet,
        batch_size=batch_size, on_progress=on_progress,
        # GeoJSON rows are numbered by feature; table rows by the spreadsheet's row number.
        row_offset=0 if definition.file_format == FORMAT_GEOJSON else 1,
    )


def _summary_message(counts: Counts, dry_run: bool, ignored: list[str], report: ErrorReport) -> str:
    numbers = {
        "total": counts.total, "created": counts.created, "updated": counts.updated,
        "unchanged": counts.unchanged, "errors": counts.errors,
    }
    if dry_run:
        first = _("预检完成（未写入）：共 %(total)s 行，新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s，错误 %(errors)s")
    else:
        first = _("导入完成：共 %(total)s 行，新增 %(created)s，更新 %(updated)s，未变 %(unchanged)s，错误 %(errors)s")
    parts = [first % numbers]
    if report.notes:
        parts.append(
            ngettext("%(count)s 个工作表未导入（见错误报告）", "%(count)s 个工作表未导入（见错误报告）", len(report.notes))
            % {"count": len(report.notes)}
        )
    if ignored:
        # The ignored columns are headers as written in the file: listed as they are.
        parts.append(_("未使用的列：%(columns)s") % {"columns": "、".join(ignored[:20])})
    message = parts[0]
    for part in parts[1:]:
        message = _("%(message)s；%(more)s") % {"message": message, "more": part}
    return message


def _write_report(
    job: ImportJob, definition: ImportSchema, report: ErrorReport, counts: Counts, status: str, message: str
) -> str:
    if report.empty:
        return ""
    name = f"{REPORT_DIRECTORY}/{job.pk}.xlsx"
    summary = [
        (_("导入类型"), str(definition.label)),
        (_("文件"), job.original_filename),
        (_("预检"), _("是") if job.dry_run else _("否")),
        (_("状态"), str(ImportStatus(status).label)),
        (_("数据行"), counts.total),
        (_("新增"), counts.created),
        (_("更新"), counts.updated),
        (_("未变"), counts.unchanged),
        (_("错误行"), counts.errors),
        (_("说明"), message),
    ]
    report.write(_media_root() / name, summary)
    return name


def _finish(
    job: ImportJob, definition: ImportSchema, counts: Counts, status: str, message: str, report_name: str
) -> None:
    finished = timezone.now()
    with transaction.atomic():
        ImportJob.objects.filter(pk=job.pk).update(
            status=status, finished_at=finished, heartbeat_at=finished, message=message,
            rows_total=counts.total, rows_processed=counts.total, rows_created=counts.created,
            rows_updated=counts.updated, rows_unchanged=counts.unchanged, rows_error=counts.errors,
            error_report=report_name,
        )
        audit.record(
            actor=job.actor, action=AuditAction.IMPORT, object_type="ingest.importjob", object_id=str(job.pk),
            object_repr=f"{definition.label}：{job.original_filename}", scope_path=job.scope_path,
            success=status == ImportStatus.SUCCEEDED, reason="" if status == ImportStatus.SUCCEEDED else message,
            after={
                "schema": definition.name, "dry_run": job.dry_run, "status": status, "rows_total": counts.total,
                "rows_created": counts.created, "rows_updated": counts.updated,
                "rows_unchanged": counts.unchanged, "rows_error": counts.errors,
            },
        )


def run_import(
    *, actor: Any, schema: str, path: str | Path, dry_run: bool = False, progress: Progress | None = None,
    sheet: str = "", batch_size: int | None = None,
) -> ImportJob:
    """Check, store and run an import in this process (the console and the benchmarks)."""
    job = import_start(actor=actor, schema=schema, path=path, dry_run=dry_run, sheet=sheet, enqueue=False)
    return import_run(job=job, progress=progress, batch_size=batch_size)


def import_job_reap_stale(*, now: dt.datetime | None = None) -> int:
    """Mark running jobs without a heartbeat for STALE_AFTER as failed (their worker died or lost the
    database); committed batches stay and are counted, and re-importing the file completes them."""
    cutoff = (now or timezone.now()) - STALE_AFTER
    stale = ImportJob.objects.filter(status=ImportStatus.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
    )
    reaped = 0
    for job in stale.order_by("pk"):
        with translation.override(_language_of(job)):
            message = _("导入中断：后台任务长时间无响应，已标记为失败。已提交的批次见计数；重新导入同一文件即可补全")
        with transaction.atomic():
            if not ImportJob.objects.filter(pk=job.pk, status=ImportStatus.RUNNING).update(
                status=ImportStatus.FAILED, finished_at=timezone.now(), message=message
            ):
                continue
            audit.record(
                actor=job.actor, action=AuditAction.IMPORT, object_type="ingest.importjob", object_id=str(job.pk),
                object_repr=f"{job.schema}：{job.original_filename}", scope_path=job.scope_path, success=False,
                reason=message,
                after={"schema": job.schema, "status": ImportStatus.FAILED, "rows_processed": job.rows_processed},
            )
        reaped += 1
    return reaped
