"""Background tasks (django-tasks, database backend: `civicgrid db_worker`): recomputation after a
definition changes, and the daily recount of running periods."""

from __future__ import annotations

import datetime as dt

from django_tasks import task

from civicgrid.indicators.services import indicator_recompute_all, indicators_refresh_current


@task()
def recompute_indicators(codes: list[str] | None = None, first: str | None = None) -> dict[str, int]:
    """Recompute stored values (every active indicator, or the codes) from the period containing `first`."""
    return indicator_recompute_all(codes=codes, first=dt.date.fromisoformat(first) if first else None)


@task()
def refresh_running_periods() -> int:
    """Recount every active indicator's running period through today."""
    return indicators_refresh_current()
