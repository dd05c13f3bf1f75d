"""`civicgrid scheduler`: enqueue the recurring jobs (core.scheduling) when they fall due.

`--once` enqueues whatever is due and exits (for cron or a systemd timer, e.g. every minute); without
it the command loops, sleeping until the next due time (at most a minute, so new jobs and other
schedulers' progress are seen), until SIGTERM/SIGINT. It only enqueues: `civicgrid db_worker` runs the
tasks. Occurrences missed while no scheduler ran are enqueued once on start, not once each."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand
from django.db import DatabaseError, close_old_connections, connection
from django.utils import timezone

from civicgrid.core.scheduling import next_wake, scheduler_tick

logger = logging.getLogger(__name__)

MIN_SLEEP = 1.0
MAX_SLEEP = 60.0
ERROR_SLEEP = 10.0


class Command(BaseCommand):
    help = "Enqueue due recurring jobs (daily escalation, indicator refresh, purges) as django-tasks."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--once", action="store_true", help="Enqueue what is due now, then exit (cron mode).")
        parser.add_argument("--max-ticks", type=int, default=None, help=argparse.SUPPRESS)  # tests

    def handle(self, *args: Any, **options: Any) -> None:
        if options["once"]:
            self._tick()
            return
        self.stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):  # not the main thread (tests)
                signal.signal(signum, self._on_signal)
        ticks = 0
        self.stdout.write("Scheduler started.")
        while not self.stop.is_set():
            delay = self._tick_safely()
            ticks += 1
            if options["max_ticks"] is not None and ticks >= options["max_ticks"]:
                break
            self.wait(delay)
        self.stdout.write("Scheduler stopped.")

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.stop.set()

    def wait(self, seconds: float) -> None:
        self.stop.wait(seconds)

    def _tick(self) -> None:
        for run in scheduler_tick():
            note = f" ({run.missed} missed occurrences folded in)" if run.missed else ""
            task = f"task {run.task_id}" if run.task_id else run.get_outcome_display()
            self.stdout.write(f"{run.job.name}: due {timezone.localtime(run.due_at):%Y-%m-%d %H:%M} → {task}{note}")

    def _tick_safely(self) -> float:
        """One tick; the seconds to sleep before the next. A database outage is waited out, not fatal."""
        try:
            self._tick()
            wake = next_wake()
        except DatabaseError:
            logger.exception("scheduler: database error; retrying in %s s", ERROR_SLEEP)
            return ERROR_SLEEP
        finally:
            if not connection.in_atomic_block:  # (tests run inside a transaction)
                close_old_connections()  # a long sleep must not hold a stale connection
        if wake is None:
            return MAX_SLEEP
        seconds = (wake - timezone.now()).total_seconds()
        return min(MAX_SLEEP, max(MIN_SLEEP, seconds))
