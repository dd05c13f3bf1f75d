"""Background tasks of the rectification loop (django-tasks, database backend: `civicgrid db_worker`)."""

from __future__ import annotations

from typing import Any

from django_tasks import task

from civicgrid.cases.services import cases_escalate_overdue


@task()
def escalate_overdue_cases() -> dict[str, Any]:
    """The daily escalation run (enqueue it from a scheduler, or run `civicgrid escalate_overdue`)."""
    summary = cases_escalate_overdue()
    return {"overdue": summary.overdue, "escalated": summary.escalated, "topped": summary.topped}
