"""The scheduler (core.scheduling): due-time arithmetic, once-only enqueueing under restarts and
concurrent schedulers, missed occurrences folded into one run, and the `scheduler` command."""

from __future__ import annotations

import datetime as dt
import io
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tasks import task
from django_tasks_db.models import DBTaskResult
from hypothesis import given
from hypothesis import strategies as st

from civicgrid.core import scheduling
from civicgrid.core.management.commands import scheduler as scheduler_command
from civicgrid.core.models import ScheduledJob, ScheduledRun, ScheduledRunOutcome
from civicgrid.core.scheduling import Daily, Every, missed_between, recurring, scheduler_tick

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = dt.datetime(2026, 11, 29, 10, 0, tzinfo=SHANGHAI)  # a Sunday morning, local time


@task()
def ping() -> str:
    return "pong"


@task()
def explode() -> None:
    raise RuntimeError("身份证号 110105194912310021 无效")  # the page must show it redacted


moments = st.datetimes(
    min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2100, 1, 1), timezones=st.just(dt.UTC)
)


@given(moment=moments, hour=st.integers(0, 23), minute=st.integers(0, 59))
def test_daily_is_the_first_local_occurrence_after(moment, hour, minute):
    at = dt.time(hour, minute)
    due = Daily(at).next_after(moment)
    assert due > moment
    assert due.astimezone(SHANGHAI).time() == at
    assert due - dt.timedelta(days=1) <= moment  # none skipped (Asia/Shanghai has no DST)
    assert Daily(at).next_after(due) == due + dt.timedelta(days=1)


@given(moment=moments, minutes=st.sampled_from([1, 5, 15, 30, 60, 90, 240, 1440]))
def test_every_is_the_next_grid_point(moment, minutes):
    due = Every(minutes).next_after(moment)
    step = dt.timedelta(minutes=minutes)
    assert moment < due <= moment + step
    assert int(due.timestamp()) % (minutes * 60) == 0


def test_daily_across_a_dst_change():
    with override_settings(TIME_ZONE="Europe/Berlin"):
        berlin = ZoneInfo("Europe/Berlin")
        # 02:30 does not exist on 2026-03-29 in Berlin: the occurrence falls on a real instant that day.
        due = Daily(dt.time(2, 30)).next_after(dt.datetime(2026, 3, 28, 12, tzinfo=berlin))
        assert due.astimezone(berlin).date() == dt.date(2026, 3, 29)
        assert Daily(dt.time(1, 0)).next_after(due).astimezone(berlin) == dt.datetime(2026, 3, 30, 1, tzinfo=berlin)


def test_hourly_runs_on_the_hour_and_daily_in_local_time():
    assert Every(60).next_after(T0) == T0 + dt.timedelta(hours=1)
    assert Every(60).next_after(T0 - dt.timedelta(seconds=1)) == T0
    assert Daily(dt.time(1, 0)).next_after(T0) == dt.datetime(2026, 11, 30, 1, 0, tzinfo=SHANGHAI)
    assert Daily(dt.time(11, 0)).next_after(T0) == dt.datetime(2026, 11, 29, 11, 0, tzinfo=SHANGHAI)


def test_missed_occurrences_are_counted():
    daily = Daily(dt.time(1, 0))
    due = dt.datetime(2026, 11, 20, 1, 0, tzinfo=SHANGHAI)
    assert missed_between(daily, due, due) == 0
    assert missed_between(daily, due, T0) == 9  # 21st … 29th
    with pytest.raises(ValueError, match="once a minute"):
        Every(0)


@pytest.fixture
def jobs(monkeypatch):
    """A registry holding only the test's jobs (the apps' tasks modules are imported first, so
    autodiscovery does not add them back)."""
    scheduling.recurring_jobs()
    monkeypatch.setattr(scheduling, "_REGISTRY", {})

    def declare(name="test.ping", the_task=ping, cadence=None):
        return recurring(name, task=the_task, cadence=cadence or Daily(dt.time(1, 0)), title="测试任务")

    return declare


def task_rows(path="ping"):
    return DBTaskResult.objects.filter(task_path__endswith=f"test_scheduling.{path}")


@pytest.mark.django_db
def test_a_new_job_waits_for_its_next_occurrence(jobs):
    jobs()
    assert scheduler_tick(now=T0) == []
    state = ScheduledJob.objects.get(name="test.ping")
    assert (state.next_due_at, state.cadence) == (dt.datetime(2026, 11, 30, 1, 0, tzinfo=SHANGHAI), "daily@01:00")
    assert task_rows().count() == 0


@pytest.mark.django_db
def test_a_due_occurrence_is_enqueued_once(jobs):
    jobs()
    scheduler_tick(now=T0)
    due = dt.datetime(2026, 11, 30, 1, 0, tzinfo=SHANGHAI)

    assert scheduler_tick(now=due - dt.timedelta(seconds=1)) == []
    [run] = scheduler_tick(now=due + dt.timedelta(seconds=5))
    assert scheduler_tick(now=due + dt.timedelta(seconds=6)) == []
    assert scheduler_tick(now=due + dt.timedelta(hours=23)) == []

    assert (run.due_at, run.missed, run.outcome) == (due, 0, ScheduledRunOutcome.ENQUEUED)
    [row] = task_rows()
    assert str(row.id) == run.task_id
    state = ScheduledJob.objects.get(name="test.ping")
    assert (state.last_due_at, state.next_due_at, state.last_task_id) == (due, due + dt.timedelta(days=1), run.task_id)


@pytest.mark.django_db
def test_restart_after_a_long_outage_runs_once_and_skips_nothing_ahead(jobs, monkeypatch):
    jobs()
    scheduler_tick(now=T0)
    first_due = dt.datetime(2026, 11, 30, 1, 0, tzinfo=SHANGHAI)
    # "Restart": a fresh registry (new process) over the same database, five days later.
    monkeypatch.setattr(scheduling, "_REGISTRY", {})
    jobs()
    back = first_due + dt.timedelta(days=4, hours=9)
    [run] = scheduler_tick(now=back)
    assert (run.due_at, run.missed) == (first_due, 4)
    assert ScheduledJob.objects.get().next_due_at == dt.datetime(2026, 12, 5, 1, 0, tzinfo=SHANGHAI)
    assert scheduler_tick(now=back + dt.timedelta(minutes=1)) == []
    assert task_rows().count() == 1


@pytest.mark.django_db
def test_a_changed_cadence_is_replanned(jobs, monkeypatch):
    jobs()
    scheduler_tick(now=T0)
    monkeypatch.setattr(scheduling, "_REGISTRY", {})
    jobs(cadence=Every(15))
    assert scheduler_tick(now=T0 + dt.timedelta(minutes=1)) == []
    state = ScheduledJob.objects.get()
    assert (state.cadence, state.next_due_at) == ("every@15m", T0 + dt.timedelta(minutes=15))


@pytest.mark.django_db
def test_a_stale_second_scheduler_cannot_claim_the_same_occurrence(jobs):
    """Two schedulers read the same due row; the second claim (compare-and-set on next_due_at, unique
    run per occurrence) finds it taken — the interleaving that SQLite and PostgreSQL both serialise."""
    job = jobs()
    scheduler_tick(now=T0)
    now = dt.datetime(2026, 11, 30, 1, 0, 30, tzinfo=SHANGHAI)
    seen_by_a = ScheduledJob.objects.get()
    seen_by_b = ScheduledJob.objects.get()
    assert scheduling._claim(job, seen_by_a, now) is not None
    assert scheduling._claim(job, seen_by_b, now) is None
    assert (ScheduledRun.objects.count(), task_rows().count()) == (1, 1)


@pytest.mark.django_db
def test_the_run_row_is_unique_per_occurrence(jobs):
    job = jobs()
    scheduler_tick(now=T0)
    now = dt.datetime(2026, 11, 30, 1, 0, 30, tzinfo=SHANGHAI)
    state = ScheduledJob.objects.get()
    # Someone else recorded this occurrence but the job row was put back (e.g. restored from a backup).
    ScheduledRun.objects.create(job=state, due_at=state.next_due_at, enqueued_at=now, outcome="enqueued")
    assert scheduling._claim(job, state, now) is None
    assert ScheduledJob.objects.get().next_due_at == state.next_due_at  # rolled back with the claim
    assert task_rows().count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_on_two_connections_enqueue_once(jobs):
    """Real concurrency: two threads, each with its own database connection, tick at the same moment."""
    if connection.vendor == "sqlite" and connection.settings_dict["NAME"].startswith("file:memorydb"):
        pytest.skip("in-memory SQLite shares one cache between threads (table locks, no busy wait)")
    jobs()
    scheduler_tick(now=T0)
    now = dt.datetime(2026, 11, 30, 1, 0, 30, tzinfo=SHANGHAI)
    barrier = threading.Barrier(2)
    made: list[int] = []
    failures: list[BaseException] = []

    def scheduler() -> None:
        from django.db import connections

        try:
            barrier.wait(timeout=10)
            made.append(len(scheduler_tick(now=now)))
        except BaseException as error:  # reported below
            failures.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=scheduler) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert failures == []
    assert sorted(made) == [0, 1]
    assert (ScheduledRun.objects.count(), task_rows().count()) == (1, 1)


@pytest.mark.django_db
def test_an_occurrence_is_not_queued_again_while_the_last_one_waits(jobs):
    jobs(cadence=Every(60))
    scheduler_tick(now=T0 - dt.timedelta(minutes=30))
    [first] = scheduler_tick(now=T0)
    [second] = scheduler_tick(now=T0 + dt.timedelta(hours=1))  # no worker picked the first one up
    assert (first.outcome, second.outcome, second.task_id) == ("enqueued", "skipped_queued", "")
    assert task_rows().count() == 1
    DBTaskResult.objects.update(status="SUCCESSFUL")
    [third] = scheduler_tick(now=T0 + dt.timedelta(hours=2))
    assert third.outcome == "enqueued"
    assert task_rows().count() == 2


@pytest.mark.django_db
def test_an_enqueue_failure_is_recorded_and_retried(jobs, monkeypatch):
    jobs(name="test.a_broken")
    jobs(name="test.b_fine")
    scheduler_tick(now=T0)
    due = dt.datetime(2026, 11, 30, 1, 0, 30, tzinfo=SHANGHAI)
    real_enqueue = type(ping).enqueue
    calls = {"n": 0}

    def flaky(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 1:  # the first job in order (by due time, then row)
            raise RuntimeError("queue unavailable")
        return real_enqueue(self, *args, **kwargs)

    monkeypatch.setattr(type(ping), "enqueue", flaky)
    runs = scheduler_tick(now=due)
    assert [run.job.name for run in runs] == ["test.b_fine"]  # the other job still ran
    broken = ScheduledJob.objects.get(name="test.a_broken")
    assert (broken.last_error, broken.last_due_at) == ("RuntimeError: queue unavailable", None)
    assert [status.error for status in scheduling.job_statuses()] == ["RuntimeError: queue unavailable", ""]
    [retried] = scheduler_tick(now=due + dt.timedelta(minutes=1))
    assert retried.job.name == "test.a_broken"
    assert ScheduledJob.objects.get(name="test.a_broken").last_error == ""


@pytest.mark.django_db
def test_old_runs_are_pruned(jobs):
    jobs(cadence=Every(1440))
    scheduler_tick(now=T0)
    state = ScheduledJob.objects.get()
    ScheduledRun.objects.create(job=state, due_at=T0 - dt.timedelta(days=200), enqueued_at=T0 - dt.timedelta(days=91),
                                outcome="enqueued")
    [run] = scheduler_tick(now=state.next_due_at)
    assert list(ScheduledRun.objects.all()) == [run]


@pytest.mark.django_db
def test_statuses_show_result_and_redacted_error(jobs, monkeypatch):
    jobs()
    jobs(name="test.explode", the_task=explode)
    scheduler_tick(now=T0)
    before = {status.name: status for status in scheduling.job_statuses()}
    assert (before["test.ping"].last_due_at, before["test.ping"].task_status) == (None, "")
    scheduler_tick(now=dt.datetime(2026, 11, 30, 1, 1, tzinfo=SHANGHAI))
    monkeypatch.setattr("django_tasks_db.management.commands.db_worker.close_old_connections", lambda: None)
    call_command("db_worker", "--batch", "--no-startup-delay", stdout=io.StringIO(), stderr=io.StringIO())

    statuses = {status.name: status for status in scheduling.job_statuses()}
    ok, failed = statuses["test.ping"], statuses["test.explode"]
    assert (ok.task_status, ok.result, ok.error, ok.schedule) == ("SUCCESSFUL", "pong", "", "每日 01:00")
    assert ok.finished_at is not None
    assert ok.next_due_at == dt.datetime(2026, 12, 1, 1, 0, tzinfo=SHANGHAI)
    assert failed.task_status == "FAILED"
    assert failed.error == "RuntimeError: 身份证号 110105********0021 无效"


def test_the_apps_declare_their_jobs():
    declared = scheduling.recurring_jobs()
    assert {name: job.cadence for name, job in declared.items()} == {
        "cases.escalate_overdue": Daily(dt.time(1, 0)),
        "core.audit_purge": Daily(dt.time(3, 0)),
        "indicators.refresh_running_periods": Daily(dt.time(0, 30)),
        "people.purge_deleted": Daily(dt.time(3, 30)),
    }
    assert declared["cases.escalate_overdue"].task.module_path == "civicgrid.cases.tasks.escalate_overdue_cases"
    with pytest.raises(ValueError, match="declared twice"):
        recurring("core.audit_purge", task=ping, cadence=Daily(dt.time(3, 0)))


@pytest.mark.django_db
def test_command_once_enqueues_what_is_due_and_exits(jobs):
    # The command reads the real clock: the job fell due a minute ago, and a day-long cadence puts no
    # other occurrence between then and now (a fixed due time would collect missed ones as days pass).
    jobs(cadence=Every(24 * 3600))
    due = (timezone.now() - dt.timedelta(minutes=1)).replace(second=0, microsecond=0)
    scheduler_tick(now=due - dt.timedelta(days=1))
    ScheduledJob.objects.update(next_due_at=due)
    call_command("scheduler", "--once", stdout=(out := io.StringIO()))
    [run] = ScheduledRun.objects.all()
    assert out.getvalue() == f"test.ping: due {timezone.localtime(due):%Y-%m-%d %H:%M} → task {run.task_id}\n"
    call_command("scheduler", "--once", stdout=(again := io.StringIO()))
    assert again.getvalue() == ""


@pytest.mark.django_db
def test_command_loop_sleeps_until_the_next_due_time(jobs, monkeypatch):
    jobs(cadence=Every(60))
    slept: list[float] = []
    monkeypatch.setattr(scheduler_command.Command, "wait", lambda self, seconds: slept.append(seconds))
    call_command("scheduler", "--max-ticks", "3", stdout=(out := io.StringIO()))
    assert out.getvalue().splitlines()[0] == "Scheduler started."
    assert out.getvalue().splitlines()[-1] == "Scheduler stopped."
    assert len(slept) == 2
    assert all(scheduler_command.MIN_SLEEP <= seconds <= scheduler_command.MAX_SLEEP for seconds in slept)
    assert ScheduledJob.objects.get().next_due_at > dt.datetime.now(dt.UTC)


@pytest.mark.django_db
def test_command_loop_survives_a_database_error(jobs, monkeypatch):
    from django.db import OperationalError

    jobs()
    slept: list[float] = []
    monkeypatch.setattr(scheduler_command.Command, "wait", lambda self, seconds: slept.append(seconds))

    def down(**kwargs):
        raise OperationalError("database is locked")

    monkeypatch.setattr(scheduler_command, "scheduler_tick", down)
    call_command("scheduler", "--max-ticks", "2", stdout=io.StringIO())
    assert slept == [scheduler_command.ERROR_SLEEP]


@pytest.mark.slow
@pytest.mark.django_db
def test_concurrent_scheduler_processes_on_one_sqlite_file_enqueue_once(tmp_path):
    """SQLite: four `scheduler --once` processes on one database file (WAL, IMMEDIATE transactions),
    with every job overdue, make one run and one task per job."""
    import os
    import sqlite3
    import subprocess
    import sys

    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL variant is test_two_schedulers_on_two_connections_enqueue_once")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env.update(CIVICGRID_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="civicgrid.config.settings.test")
    command = [sys.executable, "-m", "civicgrid.cli"]
    subprocess.run([*command, "migrate", "--no-input", "-v", "0"], env=env, check=True, timeout=300)  # noqa: S603
    subprocess.run([*command, "scheduler", "--once"], env=env, check=True, timeout=60)  # noqa: S603
    database = tmp_path / "civicgrid.sqlite3"
    with sqlite3.connect(database) as db:
        assert db.execute("UPDATE core_scheduledjob SET next_due_at = '2026-01-01 00:00:00'").rowcount == 4
    processes = [
        subprocess.Popen([*command, "scheduler", "--once"], env=env, stdout=subprocess.PIPE)  # noqa: S603
        for _ in range(4)
    ]
    outputs = [process.communicate(timeout=120)[0].decode() for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0, 0]
    with sqlite3.connect(database) as db:
        runs = db.execute("SELECT job_id, count(*) FROM core_scheduledrun GROUP BY job_id").fetchall()
        tasks = db.execute("SELECT count(*) FROM django_tasks_database_dbtaskresult").fetchone()[0]
    assert [count for _, count in runs] == [1, 1, 1, 1]
    assert tasks == 4
    assert sum(len(output.splitlines()) for output in outputs) == 4
