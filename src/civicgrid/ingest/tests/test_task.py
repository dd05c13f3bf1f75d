"""The background path: the upload commits, the task is queued after commit, the database worker
runs it and the job row carries the result."""

import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus
from django_tasks_db.models import DBTaskResult

from civicgrid.ingest import registry
from civicgrid.ingest.models import ImportJob, ImportStatus
from civicgrid.ingest.registry import Column, ImportSchema
from civicgrid.ingest.services import import_start
from civicgrid.ingest.tasks import run_import_job
from civicgrid.ingest.tests.workbooks import write_csv
from civicgrid.people.models import Person
from civicgrid.testing import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


# The worker closes "old" connections, which breaks TestCase's wrapping transaction on PostgreSQL
# (recipes §3): this test commits for real.
@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_queued_import(world, town_a_user, tmp_path):
    numbers = [factories.make_id_number() for _ in range(2)]
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码"], ["甲", numbers[0], world.village_a.code], ["乙", numbers[1], world.village_b.code],
    ])
    job = import_start(actor=town_a_user, schema="people.person", path=path)
    job.refresh_from_db()
    assert (job.status, bool(job.task_id)) == (ImportStatus.QUEUED, True)

    call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)

    job = ImportJob.objects.get(pk=job.pk)
    assert (job.status, job.rows_created, job.rows_error) == (ImportStatus.SUCCEEDED, 1, 1)
    assert job.started_at <= job.finished_at
    assert Person.objects.filter(id_number=numbers[0], address_node=world.village_a).exists()
    result = run_import_job.get_result(job.task_id)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value["rows_created"] == 1


@pytest.mark.django_db(transaction=True)
def test_a_failing_import_fails_its_task_without_personal_data(world, tmp_path):
    secret = "371502198005171234"

    def writer(rows, context):
        raise RuntimeError(f"duplicate key (id_number)=({secret})")

    schema = registry.register(ImportSchema(
        name="test.failing", label="测试", writer=writer, columns=(Column("code", ("编码",), required=True),),
    ))
    try:
        job = import_start(actor=None, schema=schema.name, path=write_csv(tmp_path / "x.csv", [["编码"], ["1"]]))
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)
    finally:
        registry.unregister(schema.name)

    job = ImportJob.objects.get(pk=job.pk)
    task_result = DBTaskResult.objects.get(id=job.task_id)
    assert (job.status, task_result.status) == (ImportStatus.FAILED, TaskResultStatus.FAILED)
    assert "RuntimeError" in job.message
    assert "ImportTaskFailed" in str(task_result.traceback)
    assert secret not in str(task_result.traceback)
    assert secret not in job.message
