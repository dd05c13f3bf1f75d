"""What a file really is and the upload limits (security.md R24): a file that is not what it claims
is refused with a clear message, nothing is written and nothing is kept."""

import zipfile
from pathlib import Path

import pytest

from civicgrid.core.models import AuditAction, AuditEvent
from civicgrid.ingest import files
from civicgrid.ingest.files import FileRejected, detect_encoding
from civicgrid.ingest.models import ImportJob
from civicgrid.ingest.services import import_start
from civicgrid.ingest.tests.workbooks import Sheet, write_csv, write_xlsx, write_zip, write_zip_bomb
from civicgrid.people.models import Person

PEOPLE_HEADER = ["姓名", "身份证号", "网格编码"]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def refused(path: Path, match: str, schema: str = "people.person") -> str:
    with pytest.raises(FileRejected, match=match) as caught:
        import_start(actor=None, schema=schema, path=path, enqueue=False)
    return caught.value.message


def stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT) / "imports"
    return [path for path in root.rglob("*") if path.is_file()] if root.exists() else []


@pytest.mark.django_db
def test_renamed_executable_is_refused_and_nothing_is_kept(world, tmp_path, settings):
    path = tmp_path / "人员台账.xlsx"
    path.write_bytes(b"MZ\x90\x00\x03" + b"\x00" * 400)

    message = refused(path, "可执行程序")

    assert message == "文件实际是可执行程序，不是 Excel 或 CSV 表格"
    assert stored_files(settings) == []
    assert not ImportJob.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.IMPORT)
    assert (event.success, event.after["status"]) == (False, "rejected")
    assert Person.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "文件是空的"),
        (b"%PDF-1.7\n...", "PDF"),
        (b"PK\x03\x04" + b"\x13" * 200, "文件已损坏"),
        (b"\x00\x01\x02binary\x00" * 20, "二进制"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600, "不是 Excel 97-2003"),
        (b"\xff\xfe\x00\xd8\x80\x81" * 30, "编码|二进制"),
    ],
)
def test_files_that_are_not_tables(world, tmp_path, content, match):
    path = tmp_path / "data.xlsx"
    path.write_bytes(content)
    refused(path, match)


@pytest.mark.django_db
def test_password_protected_workbook(world, tmp_path):
    # Encrypted Office files are OLE containers whose directory names an EncryptionInfo stream.
    path = tmp_path / "加密.xlsx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1000 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 100)
    refused(path, "文件已加密")


@pytest.mark.django_db
def test_opendocument_spreadsheet_is_named(world, tmp_path):
    path = write_zip(tmp_path / "表.xlsx", {"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"},
                     compression=zipfile.ZIP_STORED)
    refused(path, r"OpenDocument 表格（\.ods）")


@pytest.mark.django_db
def test_zip_that_is_no_workbook(world, tmp_path):
    path = write_zip(tmp_path / "report.xlsx", {"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"})
    refused(path, "不是 Excel 工作簿")


@pytest.mark.django_db
def test_zip_bomb_is_refused_before_decompression(world, tmp_path):
    path = write_zip_bomb(tmp_path / "bomb.xlsx", size=16 * 1024 * 1024)
    assert path.stat().st_size < 100_000  # sixteen megabytes of zeros squeeze to a few kilobytes
    refused(path, "压缩炸弹")


@pytest.mark.django_db
def test_uncompressed_size_limit(world, tmp_path, settings):
    rows = [PEOPLE_HEADER] + [[f"名{n}", f"ID{n}", "x" * 50] for n in range(2000)]
    path = write_xlsx(tmp_path / "big.xlsx", [Sheet("人员", rows)])
    settings.CIVICGRID_UPLOAD_MAX_UNCOMPRESSED_BYTES = 50_000
    refused(path, "解压后超过")


@pytest.mark.django_db
def test_file_size_limit(world, tmp_path, settings):
    path = write_csv(tmp_path / "p.csv", [PEOPLE_HEADER] + [["名", "1" * 18, "1"]] * 50)
    settings.CIVICGRID_UPLOAD_MAX_BYTES = 500
    message = refused(path, "大小上限")
    assert message == "文件超过大小上限 500 字节"


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_row_limit(world, tmp_path, settings, kind):
    rows = [PEOPLE_HEADER] + [[f"名{n}", "1" * 18, "1"] for n in range(400)]
    path = write_csv(tmp_path / "p.csv", rows) if kind == "csv" else write_xlsx(tmp_path / "p.xlsx", [Sheet("s", rows)])
    settings.CIVICGRID_UPLOAD_MAX_ROWS = 200
    refused(path, "行数超过上限 200")


@pytest.mark.django_db
def test_type_comes_from_content_not_extension(world, tmp_path, settings):
    path = write_xlsx(tmp_path / "a.xlsx", [Sheet("s", [PEOPLE_HEADER])])
    renamed = path.rename(tmp_path / "人员.xls")

    job = import_start(actor=None, schema="people.person", path=renamed, enqueue=False)

    assert (job.file_format, job.original_filename) == ("xlsx", "人员.xls")
    assert job.file.startswith("imports/")
    assert job.file.endswith(".xlsx")
    assert job.file_path.read_bytes() == renamed.read_bytes()


def test_encoding_detection():
    text = "姓名,身份证号\n张三,1\n"
    assert detect_encoding(text.encode("utf-8")) == "utf-8-sig"
    assert detect_encoding(b"\xef\xbb\xbf" + text.encode("utf-8")) == "utf-8-sig"
    assert detect_encoding(text.encode("gbk")) == "gb18030"
    assert detect_encoding(text.encode("utf-16")) == "utf-16"
    # A sample cut in the middle of a character is still UTF-8.
    assert detect_encoding(text.encode("utf-8")[:4]) == "utf-8-sig"


def test_sheet_scan_counts_rows_across_chunk_boundaries(tmp_path):
    rows = [["序号", "姓名"]] + [[n, f"很长的名字{n}" * 3] for n in range(30_000)]
    path = write_xlsx(tmp_path / "long.xlsx", [Sheet("一", rows, merges=["C1:D2"]), Sheet("二", rows[:10])])

    info = files.inspect(path, file_format="table")

    assert zipfile.ZipFile(path).getinfo("xl/worksheets/sheet1.xml").file_size > 3 * files.CHUNK_BYTES
    assert [(sheet.name, sheet.rows) for sheet in info.sheets] == [("一", 30_001), ("二", 10)]
    assert info.sheets[0].merges == [(0, 2, 1, 3)]
    assert info.rows_estimate == 30_011
