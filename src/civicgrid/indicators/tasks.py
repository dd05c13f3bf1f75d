"""Background tasks (django-tasks, database backend: `civicgrid db_worker`): recomputation after a
definition changes, and the daily recount of running periods."""

from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext_lazy as _
from django_tasks import task

from civicgrid.core.scheduling import Daily, recurring
from civicgrid.indicators.services import indicator_recompute_all, indicators_refresh_current


@task()
def recompute_indicators(codes: list[str] | None = None, first: str | None = None) -> dict[str, int]:
    """Recompute stored values (every active indicator, or the codes) from the period containing `first`."""
    return indicator_recompute_all(codes=codes, first=dt.date.fromisoformat(first) if first else None)


@task()
def refresh_running_periods() -> int:
    """Recount every active indicator's running period through today."""
    return indicators_refresh_current()


# Nightly, just after the day turns: changes in between arrive incrementally (services.notify_changed);
# this recount brings the new day (and a new period) into the running values.
recurring(
    "indicators.refresh_running_periods", task=refresh_running_periods, cadence=Daily(dt.time(0, 30)),
    title=_("刷新指标当期数值"),
)
