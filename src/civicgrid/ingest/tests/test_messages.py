"""Messages of the import go through Django i18n: Chinese (the msgid) in the default language, English
from the catalog when English is active, for row errors of the reading thread and of the writer thread
(which writes batches on a second thread) as well as for a refused file."""

from pathlib import Path

import pytest
from django.utils import translation

from civicgrid.ingest import registry
from civicgrid.ingest.files import FileRejected
from civicgrid.ingest.registry import OUT_OF_SCOPE, Column, ImportSchema, WriteResult
from civicgrid.ingest.services import import_start, run_import
from civicgrid.ingest.tests.workbooks import read_report, write_csv


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


def reasons(tmp_path: Path, language: str | None) -> list[str]:
    path = write_csv(tmp_path / "rows.csv", [
        ["编码", "名称"], ["A1", ""], ["A2", "甲"], ["A2", "乙"], ["OUT", "丙"],
    ])
    with translation.override(language):
        job = run_import(actor=None, schema="test.messages", path=path)
    assert job.error_report_path is not None
    return [line[4] for line in read_report(job.error_report_path)]


@pytest.mark.django_db
def test_row_errors_are_chinese_by_default(schema, tmp_path):
    assert reasons(tmp_path, None) == ["必填项为空", "与第3行重复", "不在您的数据范围内"]


@pytest.mark.django_db
def test_row_errors_in_english(schema, tmp_path):
    assert reasons(tmp_path, "en") == ["Required value missing", "Duplicate of row 3", "Outside your data scope"]


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
