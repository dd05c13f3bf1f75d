"""Background task of the import pipeline (django-tasks, database backend: `civicgrid db_worker`)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from civicgrid.ingest.models import ImportJob
from civicgrid.ingest.services import import_run


class ImportTaskFailed(Exception):
    """The import job failed; its row says why. The original error is not chained: the task result
    stores the traceback, and a database error's text may quote personal data (R20)."""


@task()
def run_import_job(job_id: str) -> dict[str, Any]:
    """Run one queued import job; the job row carries progress, counts and the outcome."""
    job = ImportJob.objects.filter(pk=job_id).first()
    if job is None:
        return {"status": "missing"}
    try:
        job = import_run(job=job)
    except Exception as exc:
        raise ImportTaskFailed(f"import job {job_id} failed ({type(exc).__name__})") from None
    return {
        "status": job.status,
        "rows_total": job.rows_total,
        "rows_created": job.rows_created,
        "rows_updated": job.rows_updated,
        "rows_unchanged": job.rows_unchanged,
        "rows_error": job.rows_error,
    }
