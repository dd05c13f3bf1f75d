"""Home page, the audit log page and the scheduled jobs page."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from civicgrid.accounts.roles import Action
from civicgrid.accounts.selectors import audit_event_list, scheduled_job_list
from civicgrid.core.models import AuditAction
from civicgrid.territory.selectors import coverage_summary, node_roots
from civicgrid.web.permissions import querystring_without_page, requires


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = request.user
    roots = list(node_roots(actor=user)) if user.can(Action.VIEW_TERRITORY) else []  # type: ignore[union-attr]
    coverage = coverage_summary(actor=user) if roots else None
    return render(request, "web/home.html", {"scope_nodes": roots, "coverage": coverage})


@requires(Action.VIEW_AUDIT)
def audit_log(request: HttpRequest) -> HttpResponse:
    filters = {key: request.GET.get(key, "").strip() for key in ("action", "user", "object_type")}
    events = audit_event_list(actor=request.user, **filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "web/audit.html",
        {
            "page_obj": page,
            "filters": filters,
            "actions": AuditAction.choices,
            "querystring_without_page": querystring_without_page(request),
        },
    )


@requires(Action.VIEW_JOBS)
def scheduled_jobs(request: HttpRequest) -> HttpResponse:
    return render(request, "web/jobs.html", {"jobs": scheduled_job_list(actor=request.user)})
