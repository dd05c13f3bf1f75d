"""Reads on the audit trail (kept in accounts, which knows roles; core knows none): only roles holding VIEW_AUDIT (the auditor) read it, across all scopes. Likewise the scheduled jobs' state (VIEW_JOBS)."""

from typing import Any

from django.db.models import Q, QuerySet

from civicgrid.accounts.roles import Action
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.core.scheduling import JobStatus, job_statuses


def audit_event_list(*, actor: Any, action: str = "", user: str = "", object_type: str = "") -> QuerySet[AuditEvent]:
    """Audit events, newest first, filtered; empty for actors without VIEW_AUDIT."""
    if actor is None or not actor.is_authenticated or not actor.can(Action.VIEW_AUDIT):
        return AuditEvent.objects.none()
    queryset = AuditEvent.objects.all()
    if action:
        queryset = queryset.filter(action=action)
    if user:
        # Failed sign-ins have no actor; the account they tried is their object.
        queryset = queryset.filter(
            Q(actor_username=user) | Q(action=AuditAction.LOGIN_FAILED, object_type="accounts.user", object_repr=user)
        )
    if object_type:
        queryset = queryset.filter(object_type=object_type)
    return queryset


def scheduled_job_list(*, actor: Any) -> list[JobStatus]:
    """Every recurring job with its last run, next due time and last result; empty without VIEW_JOBS."""
    if actor is None or not actor.is_authenticated or not actor.can(Action.VIEW_JOBS):
        return []
    return job_statuses()
