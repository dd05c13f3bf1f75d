"""The background path: the upload commits, the task is queued after commit, the database worker
runs it and the job row carries the result."""

import pytest
from django.core.management import call_command
from django_tasks import TaskResultStatus

from civicgrid.ingest.models import ImportJob, ImportStatus
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
