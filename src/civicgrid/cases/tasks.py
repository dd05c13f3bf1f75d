"""Background tasks of the rectification loop (django-tasks, database backend: `civicgrid db_worker`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from civicgrid.cases.services import cases_escalate_overdue
from civicgrid.core.scheduling import Daily, recurring


@task()
def escalate_overdue_cases() -> dict[str, Any]:
    """The daily escalation run (enqueued by `civicgrid scheduler`, or run `civicgrid escalate_overdue`)."""
    summary = cases_escalate_overdue()
    return {"overdue": summary.overdue, "escalated": summary.escalated, "topped": summary.topped}


# Idempotent within a day; run after midnight so a deadline that passed yesterday counts as overdue.
recurring("cases.escalate_overdue", task=escalate_overdue_cases, cadence=Daily(dt.time(1, 0)), title=_("逾期问题逐级升级督办"))
