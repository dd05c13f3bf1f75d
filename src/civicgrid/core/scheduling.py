"""Recurring jobs (scheduled django-tasks): a registry the owning apps fill from their `tasks.py`, the
due-time arithmetic, and the scheduler's tick, which enqueues every due occurrence exactly once.

django-tasks has no periodic scheduler, so `civicgrid scheduler` (core/management/commands) calls
`scheduler_tick` in a loop or once (cron / systemd timer); the task worker (`civicgrid db_worker`)
runs what it enqueues. The state lives in the database (`core.ScheduledJob`, `core.ScheduledRun`):

* a restart neither re-runs an occurrence nor skips one: the next due time is stored, not computed
  from the process's start;
* occurrences missed while no scheduler ran are run ONCE on the next tick (not once per missed
  occurrence); the run row records how many were folded into it (`missed`);
* two schedulers cannot enqueue the same occurrence: claiming is a compare-and-set UPDATE of the job's
  `next_due_at` in the transaction that also writes the run row (unique per job and due time) and the
  task row, so claim and enqueue commit or fail together;
* an occurrence whose previous task is still waiting in the queue (worker down) is not queued again.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import autodiscover_modules
from django.utils.translation import gettext
from django_tasks import TaskResultStatus
from django_tasks.base import Task

from civicgrid.core.logging import redact
from civicgrid.core.models import ScheduledJob, ScheduledRun, ScheduledRunOutcome

logger = logging.getLogger(__name__)

UTC = dt.UTC
RUN_HISTORY_DAYS = 90  # run rows older than this are pruned by the tick
MAX_COUNTED_MISSED = 10_000  # counting missed occurrences stops here (a job down for years)
ERROR_TEXT_LIMIT = 300


def local_zone() -> ZoneInfo:
    """The zone daily times are read in (settings.TIME_ZONE, Asia/Shanghai by default)."""
    return ZoneInfo(settings.TIME_ZONE)


class Cadence(Protocol):
    def next_after(self, moment: dt.datetime) -> dt.datetime: ...

    def code(self) -> str: ...

    def describe(self) -> str: ...


@dataclass(frozen=True)
class Daily:
    """Once a day at a local wall-clock time."""

    at: dt.time

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first occurrence strictly after `moment` (aware), in UTC."""
        zone = local_zone()
        day = moment.astimezone(zone).date() - dt.timedelta(days=1)
        while True:
            # Through UTC and back: a wall time skipped by a DST change lands on a real instant.
            candidate = dt.datetime.combine(day, self.at, tzinfo=zone).astimezone(UTC)
            if candidate > moment:
                return candidate
            day += dt.timedelta(days=1)

    def code(self) -> str:
        return f"daily@{self.at:%H:%M}"

    def describe(self) -> str:
        return gettext("每日 %(time)s") % {"time": f"{self.at:%H:%M}"}


@dataclass(frozen=True)
class Every:
    """Every N minutes, on a grid aligned to the Unix epoch (so every process computes the same times;
    with a divisor of a day, also aligned to local midnight in a whole-hour zone)."""

    minutes: int

    def __post_init__(self) -> None:
        if self.minutes < 1:
            raise ValueError("a recurring job runs at most once a minute")

    def next_after(self, moment: dt.datetime) -> dt.datetime:
        """The first grid point strictly after `moment` (aware), in UTC."""
        step = self.minutes * 60
        seconds = int(moment.timestamp() // 1)
        return dt.datetime.fromtimestamp((seconds // step + 1) * step, tz=UTC)

    def code(self) -> str:
        return f"every@{self.minutes}m"

    def describe(self) -> str:
        return gettext("每 %(minutes)s 分钟") % {"minutes": self.minutes}


@dataclass(frozen=True)
class RecurringJob:
    """A task enqueued on a cadence. `name` is the durable key of its state row: never rename lightly."""

    name: str
    task: Task[Any, Any]
    cadence: Daily | Every
    title: Any = field(default="")  # lazy translatable label for the page

    def __post_init__(self) -> None:
        if not self.name or len(self.name) > 100:
            raise ValueError("a recurring job needs a name of 1-100 characters")


_REGISTRY: dict[str, RecurringJob] = {}
_discovered = False


def recurring(name: str, *, task: Task[Any, Any], cadence: Daily | Every, title: Any = "") -> RecurringJob:
    """Declare a recurring job (call it in the owning app's tasks.py, next to the task)."""
    job = RecurringJob(name=name, task=task, cadence=cadence, title=title)
    existing = _REGISTRY.get(name)
    if existing is not None and (existing.task.module_path, existing.cadence) != (task.module_path, cadence):
        raise ValueError(f"recurring job {name!r} is declared twice, differently")
    _REGISTRY[name] = job
    return job


def recurring_jobs() -> dict[str, RecurringJob]:
    """Every declared recurring job by name (importing each installed app's tasks module first)."""
    global _discovered
    if not _discovered:
        autodiscover_modules("tasks")
        _discovered = True
    return dict(sorted(_REGISTRY.items()))


def missed_between(cadence: Daily | Every, due_at: dt.datetime, now: dt.datetime) -> int:
    """How many occurrences after `due_at` and up to `now` are folded into the run of `due_at`."""
    count = 0
    moment = cadence.next_after(due_at)
    while moment <= now and count < MAX_COUNTED_MISSED:
        count += 1
        moment = cadence.next_after(moment)
    return count


def _sync_rows(jobs: dict[str, RecurringJob], now: dt.datetime) -> None:
    """A state row per declared job; a job seen for the first time is next due at its next occurrence
    (a new deployment does not fire everything at once). A changed cadence is re-planned from now."""
    known = dict(ScheduledJob.objects.filter(name__in=list(jobs)).values_list("name", "cadence"))
    missing = [name for name in jobs if name not in known]
    if missing:  # (no write at all on an ordinary tick: SQLite has one writer at a time)
        ScheduledJob.objects.bulk_create(
            [
                ScheduledJob(name=name, cadence=jobs[name].cadence.code(), next_due_at=jobs[name].cadence.next_after(now))
                for name in missing
            ],
            ignore_conflicts=True,  # another scheduler may create the same rows at the same moment
        )
    for name, cadence in known.items():
        job = jobs[name]
        if cadence != job.cadence.code():
            ScheduledJob.objects.filter(name=name, cadence=cadence).update(
                cadence=job.cadence.code(), next_due_at=job.cadence.next_after(now)
            )


def _still_queued(job: RecurringJob, task_id: str) -> bool:
    """Whether the task enqueued last time has not been picked up by a worker yet."""
    if not task_id:
        return False
    try:
        return job.task.get_result(task_id).status == TaskResultStatus.READY
    except Exception:  # pruned or unknown result: nothing waits
        return False


def _claim(job: RecurringJob, state: ScheduledJob, now: dt.datetime) -> ScheduledRun | None:
    """Claim the occurrence `state.next_due_at` and enqueue its task, atomically; None when another
    scheduler claimed it first."""
    due_at = state.next_due_at
    next_due = job.cadence.next_after(now)
    missed = missed_between(job.cadence, due_at, now)
    try:
        with transaction.atomic():
            # Compare-and-set: of two schedulers that read the same row, one updates it; the other's
            # UPDATE waits for that commit (PostgreSQL row lock / SQLite write lock) and matches nothing.
            claimed = ScheduledJob.objects.filter(pk=state.pk, next_due_at=due_at).update(
                next_due_at=next_due, last_due_at=due_at, last_enqueued_at=now, last_missed=missed, last_error=""
            )
            if not claimed:
                return None
            if _still_queued(job, state.last_task_id):
                outcome, task_id = ScheduledRunOutcome.SKIPPED_QUEUED, ""
            else:
                # With the database task backend the task row commits with the claim: exactly once.
                outcome, task_id = ScheduledRunOutcome.ENQUEUED, str(job.task.enqueue().id)
                ScheduledJob.objects.filter(pk=state.pk).update(last_task_id=task_id)
            return ScheduledRun.objects.create(
                job=state, due_at=due_at, enqueued_at=now, task_id=task_id, missed=missed, outcome=outcome
            )
    except IntegrityError:
        return None  # the (job, due_at) run row exists: claimed elsewhere


def _record_error(state: ScheduledJob, error: Exception) -> None:
    text = redact(f"{type(error).__name__}: {error}")[:ERROR_TEXT_LIMIT]
    ScheduledJob.objects.filter(pk=state.pk).update(last_error=text)


def scheduler_tick(*, now: dt.datetime | None = None) -> list[ScheduledRun]:
    """Enqueue every due occurrence of every recurring job, once; return the runs this call made."""
    now = now or timezone.now()
    jobs = recurring_jobs()
    _sync_rows(jobs, now)
    runs: list[ScheduledRun] = []
    due = ScheduledJob.objects.filter(name__in=list(jobs), next_due_at__lte=now).order_by("next_due_at", "pk")
    for state in due:
        job = jobs[state.name]
        try:
            run = _claim(job, state, now)
        except Exception as error:  # one broken job must not starve the others
            logger.exception("scheduler: could not enqueue %s", job.name)
            _record_error(state, error)
            continue
        if run is not None:
            runs.append(run)
    if runs:
        ScheduledRun.objects.filter(enqueued_at__lt=now - dt.timedelta(days=RUN_HISTORY_DAYS)).delete()
    return runs


def next_wake(*, now: dt.datetime | None = None) -> dt.datetime | None:
    """The earliest next due time of the declared jobs (None before their rows exist)."""
    jobs = recurring_jobs()
    first = ScheduledJob.objects.filter(name__in=list(jobs)).order_by("next_due_at").first()
    return first.next_due_at if first is not None else None


@dataclass(frozen=True)
class JobStatus:
    """What the jobs page shows for one recurring job."""

    name: str
    title: Any
    schedule: str
    next_due_at: dt.datetime | None
    last_due_at: dt.datetime | None
    last_enqueued_at: dt.datetime | None
    last_missed: int
    task_status: str  # a TaskResultStatus value, or "" when never run / result pruned
    finished_at: dt.datetime | None
    result: str
    error: str


def _task_outcome(job: RecurringJob, task_id: str) -> tuple[str, dt.datetime | None, str, str]:
    if not task_id:
        return "", None, "", ""
    try:
        result = job.task.get_result(task_id)
    except Exception:  # pruned by prune_db_task_results, or another backend
        return "", None, "", ""
    error = ""
    if result.errors:
        last = result.errors[-1]
        lines = [line for line in last.traceback.strip().splitlines() if line.strip()]
        message = lines[-1] if lines else last.exception_class_path
        error = redact(message)[:ERROR_TEXT_LIMIT]
    value = ""
    if result.status == TaskResultStatus.SUCCESSFUL:
        value = redact(str(result.return_value))[:ERROR_TEXT_LIMIT]
    return str(result.status), result.finished_at, value, error


def job_statuses() -> list[JobStatus]:
    """Each declared job with its stored state and its last task's outcome (no personal data: return
    values are counts and error texts are redacted)."""
    jobs = recurring_jobs()
    states = {state.name: state for state in ScheduledJob.objects.filter(name__in=list(jobs))}
    statuses = []
    for name, job in jobs.items():
        state = states.get(name)
        task_status, finished_at, value, error = _task_outcome(job, state.last_task_id if state else "")
        if state is not None and state.last_error:
            error = state.last_error
        statuses.append(
            JobStatus(
                name=name,
                title=job.title or name,
                schedule=job.cadence.describe(),
                next_due_at=state.next_due_at if state else None,
                last_due_at=state.last_due_at if state else None,
                last_enqueued_at=state.last_enqueued_at if state else None,
                last_missed=state.last_missed if state else 0,
                task_status=task_status,
                finished_at=finished_at,
                result=value,
                error=error,
            )
        )
    return statuses


__all__ = [
    "Daily",
    "Every",
    "JobStatus",
    "RecurringJob",
    "job_statuses",
    "missed_between",
    "next_wake",
    "recurring",
    "recurring_jobs",
    "scheduler_tick",
]
