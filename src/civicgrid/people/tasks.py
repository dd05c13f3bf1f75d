"""Background tasks of the person registry (django-tasks, database backend: `civicgrid db_worker`)."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from civicgrid.core.scheduling import Daily, recurring
from civicgrid.people.services import people_purge_deleted


@task()
def purge_deleted_people() -> dict[str, int]:
    """Delete residents soft-deleted longer ago than the retention period (R29)."""
    summary = people_purge_deleted()
    return {"purged": summary.purged, "kept_referenced": summary.kept_referenced}


recurring(
    "people.purge_deleted", task=purge_deleted_people, cadence=Daily(dt.time(3, 30)), title=_("已删除人员到期清除")
)
