"""Import API: start an import with an uploaded file, read a job's status, download its error report.
Mount with `api.add_router("/imports/", router)` in config/api.py. Errors are `{"detail": ...}`."""

# No `from __future__ import annotations` here: django-ninja resolves handler annotations at import.

import datetime as dt
import uuid
from typing import Any

from django.http import FileResponse, Http404, HttpRequest
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from ninja import File, Form, Router, Schema, Status, UploadedFile
from ninja import Form as FormField
from ninja.errors import HttpError
from ninja.security import django_auth

from civicgrid.accounts.roles import Action
from civicgrid.config.api_support import api_requires
from civicgrid.core.errors import ApplicationError
from civicgrid.core.exports import XLSX_CONTENT_TYPE
from civicgrid.ingest.models import ImportJob
from civicgrid.ingest.selectors import import_job_get, import_job_list
from civicgrid.ingest.services import import_start

router = Router(tags=["imports"], auth=django_auth)
LIST_LIMIT = 100


class ImportJobOut(Schema):
    id: uuid.UUID
    schema_name: str
    original_filename: str
    dry_run: bool
    status: str
    rows_total: int
    rows_processed: int
    rows_created: int
    rows_updated: int
    rows_unchanged: int
    rows_error: int
    percent: int
    message: str
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    error_report_url: str | None


class ErrorOut(Schema):
    detail: str


def _out(job: ImportJob) -> dict[str, Any]:
    return {
        "id": job.pk, "schema_name": job.schema, "original_filename": job.original_filename,
        "dry_run": job.dry_run, "status": job.status, "rows_total": job.rows_total,
        "rows_processed": job.rows_processed, "rows_created": job.rows_created, "rows_updated": job.rows_updated,
        "rows_unchanged": job.rows_unchanged, "rows_error": job.rows_error, "percent": job.percent,
        "message": job.message, "created_at": job.created_at, "started_at": job.started_at,
        "finished_at": job.finished_at,
        "error_report_url": reverse("ingest:error_report", args=[job.pk]) if job.error_report else None,
    }


@router.post("/", response={201: ImportJobOut, 400: ErrorOut}, summary=gettext_noop("导入文件"))
@api_requires(Action.IMPORT)
def start_import(
    request: HttpRequest,
    file: File[UploadedFile],
    # Sent as "schema"; named otherwise here because pydantic models have a `schema` attribute.
    schema_name: str = FormField(..., alias="schema", description=gettext_noop("导入类型，例如 people.person")),
    dry_run: Form[bool] = False,
    sheet: Form[str] = "",
) -> Status[dict[str, Any]]:
    """Check and store the file, queue the import; the job runs in the background worker."""
    try:
        job = import_start(
            actor=request.user, schema=schema_name, uploaded_file=file, dry_run=dry_run, sheet=sheet
        )
    except ApplicationError as exc:
        raise HttpError(400, exc.message) from exc
    return Status(201, _out(job))


@router.get("/", response=list[ImportJobOut], summary=gettext_noop("最近的导入任务"))
@api_requires(Action.IMPORT)
def list_imports(request: HttpRequest) -> list[dict[str, Any]]:
    """The newest jobs the user may see."""
    return [_out(job) for job in import_job_list(actor=request.user)[:LIST_LIMIT]]


@router.get("/{job_id}", response={200: ImportJobOut, 404: ErrorOut}, summary=gettext_noop("导入任务状态"))
@api_requires(Action.IMPORT)
def get_import(request: HttpRequest, job_id: str) -> dict[str, Any]:
    """Status, progress and counts of one job (404 when missing or not yours)."""
    return _out(_job(request, job_id))


@router.get("/{job_id}/error-report", response={404: ErrorOut}, summary=gettext_noop("下载错误报告（.xlsx）"))
@api_requires(Action.IMPORT)
def get_error_report(request: HttpRequest, job_id: str) -> FileResponse:
    """The job's error report; ID numbers and phones in it are masked."""
    job = _job(request, job_id)
    path = job.error_report_path
    if path is None or not path.is_file():
        raise HttpError(404, _("该任务没有错误报告"))
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=f"import-errors-{job.pk}.xlsx", content_type=XLSX_CONTENT_TYPE
    )


def _job(request: HttpRequest, job_id: str) -> ImportJob:
    try:
        return import_job_get(actor=request.user, pk=job_id)
    except Http404:
        raise HttpError(404, _("未找到该导入任务")) from None
