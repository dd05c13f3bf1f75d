"""The import services: rejections change nothing, jobs run once, failures are recorded, dead jobs
are reaped, progress is reported, every import leaves one audit event."""

import datetime as dt
import re
import sys
import threading
from pathlib import Path

import pytest
from django.utils import timezone

from civicgrid.accounts.roles import Role
from civicgrid.core.errors import ApplicationError
from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.ingest import registry
from civicgrid.ingest.models import ImportJob, ImportStatus
from civicgrid.ingest.pipeline import WRITER_SWITCH_INTERVAL, short_gil_switches
from civicgrid.ingest.registry import Column, ImportSchema, WriteResult
from civicgrid.ingest.services import import_job_reap_stale, import_run, import_start, run_import
from civicgrid.ingest.tests.fixtures.make_xls import ledger_ids
from civicgrid.ingest.tests.workbooks import Sheet, read_report, write_csv, write_xlsx
from civicgrid.people.models import Person
from civicgrid.testing import factories

FIXTURES = Path(__file__).parent / "fixtures"
ID_PATTERN = re.compile(r"\d{17}[\dX]")
LEAKED_ID = "371502198005171234"


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def exploding_schema():
    """A throw-away schema whose writer fails on its second batch, like a database that goes away."""
    calls = []

    def writer(rows, context):
        calls.append(len(rows))
        if len(calls) == 2:
            raise RuntimeError(f"connection lost; key (id_number)=({LEAKED_ID})")
        return WriteResult(created=len(rows))

    schema = registry.register(ImportSchema(
        name="test.exploding", label="测试", writer=writer, batch_size=2,
        columns=(Column("code", ("编码",), required=True), Column("name", ("名称",))),
    ))
    yield schema
    registry.unregister(schema.name)


@pytest.mark.django_db
def test_wrong_columns_fail_the_job_and_write_nothing(world, tmp_path):
    path = write_xlsx(tmp_path / "households.xlsx", [Sheet("户", [
        ["户编号", "户主姓名", "身份证号", "家庭人口"],
        ["H1", "张三", factories.make_id_number(), 3],
    ])])

    job = run_import(actor=None, schema="people.person", path=path)

    assert job.status == ImportStatus.FAILED
    assert "缺少必需的列：“网格编码”" in job.message
    assert "找到的列：户编号、户主姓名、身份证号、家庭人口" in job.message
    assert (job.rows_created, job.rows_updated) == (0, 0)
    assert Person.objects.count() == 2
    event = AuditEvent.objects.get(action=AuditAction.IMPORT, object_id=str(job.pk))
    assert event.success is False


@pytest.mark.django_db
def test_one_malformed_sheet_refuses_the_whole_file(world, tmp_path):
    good = [["姓名", "身份证号", "网格编码"], ["甲", factories.make_id_number(), world.village_a.code]]
    bad = [["姓名", "身份证号", "联系电话"], ["乙", factories.make_id_number(), "13800000000"]]
    path = write_xlsx(tmp_path / "p.xlsx", [Sheet("一村", good), Sheet("二村", bad)])

    job = run_import(actor=None, schema="people.person", path=path)

    assert job.status == ImportStatus.FAILED
    assert "工作表“二村”缺少必需的列：“网格编码”" in job.message
    assert Person.objects.count() == 2


@pytest.mark.django_db
def test_sheet_option_imports_one_sheet(world, tmp_path):
    sheets = [
        Sheet(name, [["姓名", "身份证号", "网格编码"], [name, factories.make_id_number(), world.village_a.code]])
        for name in ("一村", "二村")
    ]
    path = write_xlsx(tmp_path / "p.xlsx", sheets)

    job = run_import(actor=None, schema="people.person", path=path, sheet="二村")
    missing = run_import(actor=None, schema="people.person", path=path, sheet="三村")

    assert (job.rows_created, list(Person.objects.filter(name__in=["一村", "二村"]).values_list("name", flat=True))) == (1, ["二村"])
    assert missing.status == ImportStatus.FAILED
    assert "没有名为“三村”的工作表" in missing.message


@pytest.mark.django_db
def test_real_xls_ledger(world, tmp_path):
    job = run_import(actor=None, schema="people.person", path=FIXTURES / "ledger.xls")

    numbers = ledger_ids()
    assert (job.status, job.rows_total, job.rows_created, job.rows_error) == (ImportStatus.SUCCEEDED, 6, 4, 2)
    zhang = Person.objects.get(id_number=numbers["枣寨村"][0])
    assert (zhang.name, zhang.phone, zhang.address_node) == ("枣民1", "13800000000", world.village_a)
    report = read_report(job.error_report_path)
    assert report[0][0] == "说明"  # sheet notes first, then the rows
    assert [(sheet, row, column) for sheet, row, column, _, _ in report[1:]] == [("枣寨村", 6, "身份证号"), ("前寨村", 6, "身份证号")]


@pytest.mark.django_db
def test_utf16_tab_separated_text(world, tmp_path):
    number = factories.make_id_number()
    path = write_csv(tmp_path / "p.txt", [["姓名", "身份证号", "网格编码"], ["王", number, world.village_a.code]],
                     encoding="utf-16", delimiter="\t")
    job = run_import(actor=None, schema="people.person", path=path)
    assert (job.rows_created, job.rows_error) == (1, 0)


@pytest.mark.django_db
def test_error_report_never_holds_a_full_id_or_phone(world, tmp_path):
    good = factories.make_id_number()
    rows = [["姓名", "身份证号", "联系电话", "网格编码"]]
    rows += [[f"人{n}", good, "13912345678", "nope"] for n in range(3)]  # unknown node, then duplicates
    job = run_import(actor=None, schema="people.person", path=write_csv(tmp_path / "p.csv", rows))
    content = job.error_report_path.read_bytes()
    report = read_report(job.error_report_path)
    assert job.rows_error == 3
    assert not any(ID_PATTERN.search(str(cell)) for line in report for cell in line)
    assert b"13912345678" not in content
    assert good.encode() not in content


@pytest.mark.django_db
def test_a_job_runs_once(world, tmp_path):
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"], ["王", factories.make_id_number(), world.village_a.code]])
    job = import_start(actor=None, schema="people.person", path=path, enqueue=False)
    first = import_run(job=job)
    second = import_run(job=ImportJob.objects.get(pk=job.pk))
    assert (first.status, first.rows_created) == (ImportStatus.SUCCEEDED, 1)
    assert (second.status, second.rows_created, second.finished_at) == (ImportStatus.SUCCEEDED, 1, first.finished_at)
    assert AuditEvent.objects.filter(action=AuditAction.IMPORT, object_id=str(job.pk)).count() == 1


@pytest.mark.django_db
def test_a_crash_marks_the_job_failed_and_keeps_committed_batches_counted(world, tmp_path, exploding_schema, caplog):
    path = write_csv(tmp_path / "x.csv", [["编码", "名称"]] + [[f"C{n}", "x"] for n in range(6)])
    job = import_start(actor=None, schema=exploding_schema.name, path=path, enqueue=False)

    with pytest.raises(RuntimeError, match="connection lost"):
        import_run(job=job)

    assert "RuntimeError" in caplog.text
    assert LEAKED_ID not in caplog.text  # the error's text may quote personal data (R20)
    job.refresh_from_db()
    assert job.status == ImportStatus.FAILED
    assert job.rows_created == 2  # the first batch committed; the second rolled back
    assert job.rows_processed >= 4  # rows read and checked when it failed
    assert "RuntimeError" in job.message
    assert "重新导入同一文件" in job.message
    assert AuditEvent.objects.get(action=AuditAction.IMPORT, object_id=str(job.pk)).success is False


@pytest.mark.django_db
def test_stage_runs_on_the_reading_thread_and_its_result_reaches_the_writer(world, tmp_path):
    staged_on, written = [], []

    def stage(rows, context):
        staged_on.append(threading.current_thread().name)
        return "|".join(row.values["code"] for row in rows)

    def writer(rows, context):
        written.append((threading.current_thread().name, rows.staged, len(rows)))
        intervals.append(sys.getswitchinterval())
        return WriteResult(created=len(rows))

    intervals: list[float] = []
    before = sys.getswitchinterval()
    schema = registry.register(ImportSchema(
        name="test.staged", label="测试", writer=writer, stage=stage, batch_size=2,
        columns=(Column("code", ("编码",), required=True),),
    ))
    try:
        path = write_csv(tmp_path / "s.csv", [["编码"]] + [[f"C{n}"] for n in range(5)])
        job = run_import(actor=None, schema=schema.name, path=path)
    finally:
        registry.unregister(schema.name)

    assert job.rows_created == 5
    assert staged_on == [threading.current_thread().name] * 3
    assert [(staged, count) for _, staged, count in written] == [("C0|C1", 2), ("C2|C3", 2), ("C4", 1)]
    assert all(name != threading.current_thread().name for name, _, _ in written)  # written on the writer thread
    # While the writer thread works, the GIL changes hands often enough for it not to wait (see pipeline).
    assert intervals == [WRITER_SWITCH_INTERVAL] * 3
    assert sys.getswitchinterval() == before


def test_short_gil_switches_nest_and_restore_the_interval_after_an_error():
    before = sys.getswitchinterval()
    seen = []

    def two_runs_the_outer_one_failing():
        with short_gil_switches():
            with short_gil_switches():
                seen.append(sys.getswitchinterval())
            seen.append(sys.getswitchinterval())  # the outer run still holds it
            raise RuntimeError

    with pytest.raises(RuntimeError):
        two_runs_the_outer_one_failing()
    assert seen == [WRITER_SWITCH_INTERVAL, WRITER_SWITCH_INTERVAL]
    assert sys.getswitchinterval() == before


@pytest.mark.django_db
def test_progress_is_reported_per_batch(world, tmp_path):
    rows = [["姓名", "身份证号", "网格编码"]] + [[f"人{n}", factories.make_id_number(), world.village_a.code] for n in range(7)]
    seen = []
    job = run_import(
        actor=None, schema="people.person", path=write_csv(tmp_path / "p.csv", rows),
        progress=lambda done, total: seen.append((done, total)), batch_size=3,
    )
    assert job.rows_created == 7
    assert [total for _, total in seen[:-1]] == [8] * (len(seen) - 1)  # the file's lines: an upper bound
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    assert 3 <= seen[0][0] < 7
    assert seen[-1] == (7, 7)


@pytest.mark.django_db
def test_dead_running_jobs_are_reaped(world, tmp_path):
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"]])
    stale = import_start(actor=None, schema="people.person", path=path, enqueue=False)
    fresh = import_start(actor=None, schema="people.person", path=path, enqueue=False)
    long_ago = timezone.now() - dt.timedelta(hours=1)
    ImportJob.objects.filter(pk=stale.pk).update(status=ImportStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago)
    ImportJob.objects.filter(pk=fresh.pk).update(status=ImportStatus.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now())
    assert ImportJob.objects.get(pk=stale.pk).is_stale

    assert import_job_reap_stale() == 1

    assert ImportJob.objects.get(pk=stale.pk).status == ImportStatus.FAILED
    assert ImportJob.objects.get(pk=fresh.pk).status == ImportStatus.RUNNING
    assert AuditEvent.objects.filter(action=AuditAction.IMPORT, object_id=str(stale.pk), success=False).exists()


@pytest.mark.django_db
def test_who_may_import(world, tmp_path):
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"]])
    cadre = factories.user_with_scope(Role.VILLAGE_CADRE, world.village_a)
    no_scope = factories.user_with_scope(Role.TOWN_OFFICER)
    with pytest.raises(ApplicationError, match="无权导入数据"):
        import_start(actor=cadre, schema="people.person", path=path)
    with pytest.raises(ApplicationError, match="没有数据范围"):
        import_start(actor=no_scope, schema="people.person", path=path)
    with pytest.raises(ApplicationError, match="未知的导入类型"):
        import_start(actor=None, schema="no.such", path=path)
    assert not ImportJob.objects.exists()


@pytest.mark.django_db
def test_scope_root_narrows_the_import(world, admin_user, tmp_path):
    numbers = [factories.make_id_number() for _ in range(2)]
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码"], ["甲", numbers[0], world.village_a.code], ["乙", numbers[1], world.village_b.code],
    ])
    job = import_start(actor=admin_user, schema="people.person", path=path, scope_root=world.town_a, enqueue=False)
    job = import_run(job=job)
    assert (job.rows_created, job.rows_error, job.scope_path) == (1, 1, world.town_a.path)


@pytest.mark.django_db
def test_a_job_that_cannot_be_queued_says_so(world, tmp_path, settings, django_capture_on_commit_callbacks):
    # A task backend that serves no "default" queue refuses the enqueue, as a broken setup would.
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["elsewhere"]}}
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"]])
    with django_capture_on_commit_callbacks(execute=True):
        job = import_start(actor=None, schema="people.person", path=path)
    job.refresh_from_db()
    assert (job.status, job.task_id) == (ImportStatus.FAILED, "")
    assert "无法提交后台任务" in job.message


@pytest.mark.django_db
def test_sqlite_write_tuning_applies_during_the_import_and_is_restored():
    from django.db import connection

    from civicgrid.ingest.services import (
        SQLITE_IMPORT_CACHE_KIB,
        SQLITE_IMPORT_CHECKPOINT_PAGES,
        _bulk_write_tuning,
    )

    def pragmas() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            cache = int(cursor.fetchone()[0])
            cursor.execute("PRAGMA wal_autocheckpoint")
            return cache, int(cursor.fetchone()[0])

    if connection.vendor != "sqlite":
        with _bulk_write_tuning():  # nothing to tune on PostgreSQL: it only has to pass through
            pass
        return
    before = pragmas()
    with _bulk_write_tuning():
        assert pragmas() == (-SQLITE_IMPORT_CACHE_KIB, SQLITE_IMPORT_CHECKPOINT_PAGES)
    assert pragmas() == before
