"""Optimistic locking across two database connections: two people change the same case at once;
one wins, the other gets the clear "changed by someone else" error and nothing is overwritten.
(The single-connection variant is test_services.test_a_stale_version_is_refused_in_one_thread.)"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from civicgrid.cases import services
from civicgrid.cases.models import Case, CaseStatus
from civicgrid.cases.tests.factories import policing
from civicgrid.core.errors import ApplicationError

pytestmark = pytest.mark.django_db(transaction=True)

HOLD_SECONDS = 0.6


def _needs_postgresql() -> None:
    if connection.vendor != "postgresql":
        # The in-memory SQLite test database is one shared-cache connection pool in which a second writer
        # fails at once ("database table is locked") instead of waiting: the threads cannot meet.
        pytest.skip("two concurrent writers need PostgreSQL; SQLite runs the single-thread variant")


def _in_thread(work: Callable[[], object], results: dict[str, object], name: str) -> threading.Thread:
    def run() -> None:
        try:
            work()
            results[name] = "ok"
        except ApplicationError as exc:
            results[name] = exc.message
        finally:
            connections.close_all()

    thread = threading.Thread(target=run, name=name)
    thread.start()
    return thread


def _case(world) -> tuple[Case, object]:
    grid = policing(world)
    case = services.case_open(actor=None, node=grid.post, title="护栏破损", category="交通设施",
                              deadline=timezone.localdate() + dt.timedelta(days=5))
    return case, grid


def test_the_second_writer_waits_for_the_first_and_is_refused(world):
    _needs_postgresql()
    case, grid = _case(world)
    locked = threading.Event()
    results: dict[str, object] = {}
    timing: dict[str, float] = {}

    def first() -> None:
        with transaction.atomic():
            services.case_start(actor=grid.officer_user, case=Case.objects.get(pk=case.pk), version=1)
            locked.set()
            time.sleep(HOLD_SECONDS)  # the row stays locked until this transaction commits

    def second() -> None:
        locked.wait(5)
        started = time.monotonic()
        try:
            services.case_cancel(actor=grid.line_leader_user, case=Case.objects.get(pk=case.pk), version=1,
                                 reason="误报")
        finally:
            timing["waited"] = time.monotonic() - started

    threads = [_in_thread(first, results, "first"), _in_thread(second, results, "second")]
    for thread in threads:
        thread.join(15)
    assert results == {"first": "ok", "second": services.STALE}
    assert timing["waited"] >= HOLD_SECONDS * 0.8  # it really waited for the first writer's lock
    case.refresh_from_db()
    assert (case.status, case.version, case.events.count()) == (CaseStatus.IN_PROGRESS, 2, 3)


def test_two_simultaneous_writers_one_wins(world):
    _needs_postgresql()
    case, grid = _case(world)
    barrier = threading.Barrier(2)
    results: dict[str, object] = {}

    def start() -> None:
        barrier.wait(5)
        services.case_start(actor=grid.officer_user, case=case, version=1)

    def cancel() -> None:
        barrier.wait(5)
        services.case_cancel(actor=grid.line_leader_user, case=case, version=1, reason="重复登记")

    threads = [_in_thread(start, results, "start"), _in_thread(cancel, results, "cancel")]
    for thread in threads:
        thread.join(15)
    assert sorted(map(str, results.values())) == sorted(["ok", services.STALE])
    case.refresh_from_db()
    winner = "start" if results["start"] == "ok" else "cancel"
    assert (case.status, case.version) == (
        CaseStatus.IN_PROGRESS if winner == "start" else CaseStatus.CANCELLED, 2
    )
    assert case.events.count() == 3
