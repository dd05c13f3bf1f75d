"""Reads of import jobs. A user sees the jobs they started; an administrator who may import and
manage the territory also sees the jobs run inside their data scope. Console jobs (no actor) are
seen by no web user."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from civicgrid.accounts.roles import Action
from civicgrid.ingest.models import ImportJob
from civicgrid.territory.scoping import scope_q


def import_job_list(*, actor: Any) -> QuerySet[ImportJob]:
    """Import jobs visible to the actor, newest first."""
    jobs = ImportJob.objects.select_related("actor").order_by("-created_at")
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.can(Action.IMPORT):
        return jobs.none()
    condition = Q(actor=actor)
    if actor.can(Action.MANAGE_TERRITORY):
        within = scope_q(actor, "scope_path")
        if within is not None:
            condition |= within & ~Q(scope_path="")
    return jobs.filter(condition)


def import_job_get(*, actor: Any, pk: Any) -> ImportJob:
    """One visible job; a missing job and another user's job are the same 404."""
    try:
        key = uuid.UUID(str(pk))
    except ValueError:
        raise Http404 from None
    try:
        return import_job_list(actor=actor).get(pk=key)
    except ImportJob.DoesNotExist:
        raise Http404 from None
