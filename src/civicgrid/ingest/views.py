"""Import pages: the job list with the upload form, a job's page with its progress (polled by htmx),
the progress fragment, the error report and blank templates. Thin: parse, call one service or
selector, render."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from civicgrid.accounts.roles import Action
from civicgrid.core.errors import ApplicationError
from civicgrid.core.exports import workbook_bytes, xlsx_response
from civicgrid.ingest.forms import ImportForm, schema_choices_for
from civicgrid.ingest.registry import FORMAT_TABLE, get_schema, schemas
from civicgrid.ingest.selectors import import_job_get, import_job_list
from civicgrid.ingest.services import import_start
from civicgrid.web.permissions import requires

JOBS_SHOWN = 50


@requires(Action.IMPORT)
@require_http_methods(["GET", "POST"])
def job_list(request: HttpRequest) -> HttpResponse:
    """Recent import jobs and the upload form; a rejected file is explained on the page."""
    actor: Any = request.user
    form = ImportForm(request.POST or None, request.FILES or None, actor=actor)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                job = import_start(
                    actor=actor, schema=form.cleaned_data["schema"], uploaded_file=form.cleaned_data["file"],
                    dry_run=form.cleaned_data["dry_run"], sheet=form.cleaned_data["sheet"],
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
                status = 400
            else:
                messages.success(request, _("文件已接收，正在后台导入。"))
                return redirect("ingest:detail", pk=job.pk)
        else:
            status = 400
    allowed = dict(schema_choices_for(actor))
    labels = {schema.name: str(schema.label) for schema in schemas()}
    jobs = [(job, labels.get(job.schema, job.schema)) for job in import_job_list(actor=actor)[:JOBS_SHOWN]]
    return render(
        request, "ingest/job_list.html",
        {"form": form, "jobs": jobs, "schemas": [schema for schema in schemas() if schema.name in allowed]},
        status=status,
    )


def _job_context(request: HttpRequest, pk: Any) -> dict[str, Any]:
    job = import_job_get(actor=request.user, pk=pk)
    try:
        label = str(get_schema(job.schema).label)
    except ApplicationError:
        label = job.schema
    return {"job": job, "schema_label": label}


@requires(Action.IMPORT)
@require_GET
def job_detail(request: HttpRequest, pk: Any) -> HttpResponse:
    """One job: file, status, progress bar, counts, message, error report link."""
    return render(request, "ingest/job_detail.html", _job_context(request, pk))


@requires(Action.IMPORT)
@require_GET
def job_progress(request: HttpRequest, pk: Any) -> HttpResponse:
    """htmx fragment with the progress bar and counts; it stops polling once the job has finished."""
    return render(request, "ingest/_progress.html", _job_context(request, pk))


@requires(Action.IMPORT)
@require_GET
def error_report(request: HttpRequest, pk: Any) -> HttpResponse:
    """The job's error report (.xlsx, ID numbers and phones masked)."""
    job = import_job_get(actor=request.user, pk=pk)
    path = job.error_report_path
    if path is None or not path.is_file():
        raise Http404
    stem = job.original_filename.rsplit(".", 1)[0]
    return xlsx_response(_("导入错误报告-%(file)s.xlsx") % {"file": stem}, path.read_bytes())


@requires(Action.IMPORT)
@require_GET
def template(request: HttpRequest, name: str) -> HttpResponse:
    """A blank workbook with the schema's canonical headers (required ones marked *)."""
    if name not in dict(schema_choices_for(request.user)):
        raise Http404
    schema = get_schema(name)
    if schema.file_format != FORMAT_TABLE:
        raise Http404
    headers = [f"{column.label}*" if column.required else column.label for column in schema.columns]
    # The headers stay the import's own Chinese column names: they are what the importer reads back.
    filename = _("%(schema)s-导入模板.xlsx") % {"schema": schema.label}
    return xlsx_response(filename, workbook_bytes([(str(schema.label), headers, [])]))
