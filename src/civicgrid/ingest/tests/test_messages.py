"""Messages of the import go through Django i18n: Chinese (the msgid) in the default language, English
from the catalog when English is active, for row errors of the reading thread and of the writer thread
(which writes batches on a second thread) as well as for a refused file. The job records the language
of the user who started it; the background worker writes the job's summary and error report in it."""

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from civicgrid.ingest import registry
from civicgrid.ingest.files import FileRejected
from civicgrid.ingest.models import STALE_AFTER, ImportJob, ImportStatus
from civicgrid.ingest.registry import OUT_OF_SCOPE, Column, ImportSchema, WriteResult
from civicgrid.ingest.services import import_job_reap_stale, import_start, run_import
from civicgrid.ingest.tests.workbooks import (
    REPORT_HEADERS_EN,
    REPORT_SHEET_EN,
    read_report,
    write_csv,
    write_zip,
)
from civicgrid.testing import factories


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def schema():
    """Refuses the code OUT in its writer, which runs on the writer thread (batches of one row)."""

    def writer(rows, context):
        result = WriteResult()
        for row in rows:
            if row.values["code"] == "OUT":
                result.error(row, "code", OUT_OF_SCOPE)
            else:
                result.created += 1
        return result

    definition = registry.register(ImportSchema(
        name="test.messages", label="测试", writer=writer, key=("code",), batch_size=1,
        columns=(Column("code", ("编码",), required=True), Column("name", ("名称",), required=True)),
    ))
    yield definition
    registry.unregister(definition.name)


def reasons(tmp_path: Path, language: str | None, **report: Any) -> list[str]:
    path = write_csv(tmp_path / "rows.csv", [
        ["编码", "名称"], ["A1", ""], ["A2", "甲"], ["A2", "乙"], ["OUT", "丙"],
    ])
    with translation.override(language):
        job = run_import(actor=None, schema="test.messages", path=path)
    assert job.error_report_path is not None
    return [line[4] for line in read_report(job.error_report_path, **report)]


@pytest.mark.django_db
def test_row_errors_are_chinese_by_default(schema, tmp_path):
    assert reasons(tmp_path, None) == ["必填项为空", "与第3行重复", "不在您的数据范围内"]


@pytest.mark.django_db
def test_row_errors_in_english(schema, tmp_path):
    assert reasons(tmp_path, "en", sheet=REPORT_SHEET_EN, headers=REPORT_HEADERS_EN) == [
        "Required value missing", "Duplicate of row 3", "Outside your data scope",
    ]


def summary_sheet(path: Path) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Sheet names of a report workbook and the rows of its second (summary) sheet."""
    workbook = load_workbook(path, read_only=True)
    return workbook.sheetnames, [tuple(row) for row in workbook.worksheets[1].iter_rows(values_only=True)]


@pytest.mark.django_db
def test_error_report_workbook_in_english(schema, tmp_path):
    path = write_csv(tmp_path / "rows.csv", [["编码", "名称", "备用"], ["A1", "", ""], ["A2", "甲", "x"]])
    with translation.override("en"):
        job = run_import(actor=None, schema="test.messages", path=path, dry_run=True)
    assert job.language == "en"
    assert read_report(job.error_report_path, sheet=REPORT_SHEET_EN, headers=REPORT_HEADERS_EN) == [
        ("rows.csv", 2, "名称", "", "Required value missing"),  # the file's own column name stays as written
    ]
    names, summary = summary_sheet(job.error_report_path)
    assert names == ["Errors", "Summary"]
    assert summary == [
        ("Item", "Value"),
        ("Import type", "测试"),  # the schema's label (registered untranslated by this test)
        ("File", "rows.csv"),
        ("Dry run", "Yes"),
        ("Status", "Completed"),
        ("Data rows", 2),
        ("Created", 1),
        ("Updated", 0),
        ("Unchanged", 0),
        ("Rows with errors", 1),
        ("Description", job.message),
    ]
    assert job.message == (
        "Dry run finished (nothing written): 2 rows, 1 new, 0 updated, 0 unchanged, 1 with errors; "
        "Columns not used: 备用"
    )


@pytest.mark.django_db
def test_error_report_workbook_in_chinese_by_default(schema, tmp_path):
    path = write_csv(tmp_path / "rows.csv", [["编码", "名称", "备用"], ["A1", "", ""], ["A2", "甲", "x"]])
    job = run_import(actor=None, schema="test.messages", path=path, dry_run=True)
    assert job.language == "zh-hans"
    assert len(read_report(job.error_report_path)) == 1  # sheet 错误明细 with the Chinese headers
    names, summary = summary_sheet(job.error_report_path)
    assert names == ["错误明细", "汇总"]
    assert summary[:4] == [("项目", "内容"), ("导入类型", "测试"), ("文件", "rows.csv"), ("预检", "是")]
    assert job.message == "预检完成（未写入）：共 2 行，新增 1，更新 0，未变 0，错误 1；未使用的列：备用"


@pytest.mark.django_db
def test_choice_errors_name_the_column_in_english_and_list_the_words_people_type(world, tmp_path):
    path = write_csv(tmp_path / "p.csv", [
        ["姓名", "身份证号", "网格编码", "性别"], ["甲", factories.make_id_number(), world.village_a.code, "X"],
    ])
    with translation.override("en"):
        job = run_import(actor=None, schema="people.person", path=path)
    lines = read_report(job.error_report_path, sheet=REPORT_SHEET_EN, headers=REPORT_HEADERS_EN)
    assert [line[4] for line in lines] == ["Sex: unknown value “X”; allowed: 男、女"]


@pytest.mark.django_db
def test_damaged_workbook_structure_in_english(world, tmp_path):
    path = write_zip(tmp_path / "broken.xlsx", {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook"})
    with translation.override("en"), pytest.raises(FileRejected) as caught:
        import_start(actor=None, schema="people.person", path=path, enqueue=False)
    assert caught.value.message == "Invalid Excel workbook structure: xl/workbook.xml is not valid XML"
    with pytest.raises(FileRejected) as caught:
        import_start(actor=None, schema="people.person", path=path, enqueue=False)
    assert caught.value.message == "Excel 工作簿结构无效：xl/workbook.xml 不是有效的 XML"


# The worker closes "old" connections, which breaks TestCase's wrapping transaction on PostgreSQL:
# these tests commit for real (as test_task.py does).
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("started_in", "worker_in", "summary", "report_sheets"),
    [
        ("en", "zh-hans", "Import finished: 2 rows, 1 new, 0 updated, 0 unchanged, 1 with errors",
         ["Errors", "Summary"]),
        ("zh-hans", "en", "导入完成：共 2 行，新增 1，更新 0，未变 0，错误 1", ["错误明细", "汇总"]),
    ],
    ids=["started-in-english", "started-in-chinese"],
)
def test_the_worker_writes_in_the_language_the_import_was_started_in(
    client, world, town_a_user, tmp_path, started_in, worker_in, summary, report_sheets
):
    good = factories.make_id_number()
    path = write_csv(tmp_path / "人员.csv", [
        ["姓名", "身份证号", "网格编码"], ["甲", good, world.village_a.code], ["乙", good[:17] + ("1" if good[17] != "1" else "2"), world.village_a.code],
    ])
    client.force_login(town_a_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = started_in
    response = client.post(
        reverse("ingest:list"), {"schema": "people.person", "file": SimpleUploadedFile(path.name, path.read_bytes())}
    )
    job = ImportJob.objects.get()
    assert (response.status_code, job.status, job.language, bool(job.task_id)) == (
        302, ImportStatus.QUEUED, started_in, True,
    )

    with translation.override(worker_in):  # whatever the worker's own language, the job's is used
        call_command("db_worker", "--batch", "--no-startup-delay", verbosity=0)

    job.refresh_from_db()
    assert (job.status, job.rows_created, job.rows_error) == (ImportStatus.SUCCEEDED, 1, 1)
    assert job.message == summary
    page = client.get(reverse("ingest:detail", args=[job.pk])).content.decode()
    assert summary in page
    assert summary_sheet(job.error_report_path)[0] == report_sheets


@pytest.mark.django_db
def test_a_stale_job_is_failed_in_its_own_language(world, tmp_path):
    path = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"], ["甲", factories.make_id_number(), "x"]])
    with translation.override("en"):
        english = import_start(actor=None, schema="people.person", path=path, enqueue=False)
    chinese = import_start(actor=None, schema="people.person", path=path, enqueue=False)
    long_ago = timezone.now() - STALE_AFTER * 2
    ImportJob.objects.update(status=ImportStatus.RUNNING, started_at=long_ago, heartbeat_at=long_ago)

    assert import_job_reap_stale() == 2

    english.refresh_from_db()
    chinese.refresh_from_db()
    assert english.message.startswith("Import interrupted")
    assert chinese.message.startswith("导入中断：后台任务长时间无响应")


@pytest.mark.django_db
def test_refused_file_in_english(world, tmp_path, settings):
    executable = tmp_path / "ledger.xlsx"
    executable.write_bytes(b"MZ\x90\x00\x03" + b"\x00" * 400)
    oversize = write_csv(tmp_path / "p.csv", [["姓名", "身份证号", "网格编码"]] + [["名", "1" * 18, "1"]] * 50)
    with translation.override("en"):
        with pytest.raises(FileRejected) as caught:
            import_start(actor=None, schema="people.person", path=executable, enqueue=False)
        assert caught.value.message == "The file is actually an executable program, not an Excel or CSV spreadsheet"
        settings.CIVICGRID_UPLOAD_MAX_BYTES = 500
        with pytest.raises(FileRejected) as caught:
            import_start(actor=None, schema="people.person", path=oversize, enqueue=False)
        assert caught.value.message == "The file is larger than the upload limit of 500 bytes"
