"""The import-schema registry: a domain app describes one importable registry (its Chinese column
headers, cell parsers, natural key and batch writer) and registers it; the engine does the rest
(reading, header detection, validation, duplicates, scope, batches, error report, job, audit).

A schema module looks like::

    register(ImportSchema(
        name="people.person", label=_("人员库"),
        columns=(Column("id_number", ("身份证号", "公民身份号码"), required=True, parser=parsers.id_number),
                 Column("name", ("姓名",), required=True, parser=parsers.text(50)), ...),
        key=("id_number",), validate=check_row, writer=write_batch))
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import ApplicationError

FORMAT_TABLE = "table"  # .xlsx, .xls, .csv
FORMAT_GEOJSON = "geojson"  # a GeoJSON FeatureCollection


class RowError(Exception):
    """A row (or one of its cells) is invalid; `message` is the 原因 written to the error report."""

    def __init__(self, message: str | Promise, *, column: str = "") -> None:
        message = str(message)  # translated now, in the language active where the row is checked
        super().__init__(message)
        self.message = message
        self.column = column


@dataclass(frozen=True)
class Column:
    """One field of a schema: the header texts it may appear under (the first is the canonical one),
    whether it must be present and filled, how a cell is parsed, and whether its value is masked in
    the error report ("id_number" or "phone")."""

    field: str
    headers: tuple[str, ...]
    required: bool = False
    parser: Callable[[Any], Any] | None = None
    sensitive: str = ""

    @property
    def label(self) -> str:
        return self.headers[0]


class Row:
    """A validated data row on its way to the writer. `number` is the row number a person sees in
    the spreadsheet (1-based), `sheet` the worksheet's name."""

    __slots__ = ("number", "sheet", "values")

    def __init__(self, sheet: str, number: int, values: dict[str, Any]) -> None:
        self.sheet = sheet
        self.number = number
        self.values = values

    def __repr__(self) -> str:
        return f"Row({self.sheet!r}, {self.number})"


class Batch(list[Row]):
    """The rows of one batch as the writer receives them, with what the schema's `stage` made of them
    on the reading thread in `staged` (None when the schema has no `stage`)."""

    __slots__ = ("staged",)

    def __init__(self, rows: list[Row]) -> None:
        super().__init__(rows)
        self.staged: Any = None


@dataclass
class WriteResult:
    """What a writer did with one batch; rows in `errors` were not written."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[tuple[Row, str, str]] = field(default_factory=list)  # (row, column field, reason)

    def error(self, row: Row, column: str, message: str | Promise) -> None:
        self.errors.append((row, column, str(message)))


@dataclass
class ImportContext:
    """Facts every parser, validator and writer of one import may use. `scope_paths` is None for the
    console (full scope); otherwise a row may only touch nodes under one of these paths."""

    actor: Any
    dry_run: bool
    now: dt.datetime
    today: dt.date
    scope_paths: tuple[str, ...] | None
    job_id: str = ""
    cache: dict[str, Any] = field(default_factory=dict)

    def in_scope(self, path: str) -> bool:
        """Whether a node's materialised path is inside the data scope of this import."""
        if self.scope_paths is None:
            return True
        return path.startswith(self.scope_paths) if self.scope_paths else False


OUT_OF_SCOPE = gettext_lazy("不在您的数据范围内")


@dataclass(frozen=True)
class ImportSchema:
    """An importable registry. `writer(rows, context)` upserts one batch by the natural key and says
    how many rows it created, updated or left unchanged; `validate(values, context)` may add derived
    values and raise RowError; `prepare(context)` loads lookups once per import into context.cache.
    `batch_size=0` hands the whole file to the writer at once (rows that refer to each other).
    While a batch is written, the next is read and validated on another thread sharing the same
    database connection, so `validate` and the parsers must not query the database (use `prepare`
    and context.cache); a schema that must, sets `overlap_writes=False`. `stage(rows, context)`, if
    given, runs on the reading thread as a batch is handed over and turns it into what the writer
    sends to the database (its result is the batch's `staged`): Python work done there does not
    compete for the GIL with the validation of the next batch, so the writer thread spends its time
    in the database, where sqlite3 and psycopg release the GIL. It must not query the database."""

    name: str
    label: str | Promise
    columns: tuple[Column, ...]
    writer: Callable[[Batch, ImportContext], WriteResult]
    key: tuple[str, ...] = ()
    validate: Callable[[dict[str, Any], ImportContext], None] | None = None
    prepare: Callable[[ImportContext], None] | None = None
    required_action: str | None = None
    batch_size: int = 10_000
    file_format: str = FORMAT_TABLE
    description: str | Promise = ""
    overlap_writes: bool = True
    stage: Callable[[list[Row], ImportContext], Any] | None = None

    def column(self, field_name: str) -> Column | None:
        """The column of a field, if the schema has one."""
        for column in self.columns:
            if column.field == field_name:
                return column
        return None

    @property
    def required_columns(self) -> list[Column]:
        return [column for column in self.columns if column.required]


_SCHEMAS: dict[str, ImportSchema] = {}


def register(schema: ImportSchema) -> ImportSchema:
    """Make a schema importable under its name (registering the same name again replaces it)."""
    if not schema.columns:
        raise ValueError(f"import schema {schema.name} has no columns")
    fields = [column.field for column in schema.columns]
    if len(set(fields)) != len(fields):
        raise ValueError(f"import schema {schema.name} repeats a field")
    for key_field in schema.key:
        if key_field not in fields:
            raise ValueError(f"import schema {schema.name}: key field {key_field} is not a column")
    _SCHEMAS[schema.name] = schema
    return schema


def unregister(name: str) -> None:
    """Remove a schema (tests register throw-away schemas)."""
    _SCHEMAS.pop(name, None)


def get_schema(name: str) -> ImportSchema:
    """The registered schema of that name, or an ApplicationError the user can read."""
    try:
        return _SCHEMAS[name]
    except KeyError:
        raise ApplicationError(_("未知的导入类型：%(name)s") % {"name": name}) from None


def schemas() -> list[ImportSchema]:
    """All registered schemas, by name."""
    return [_SCHEMAS[name] for name in sorted(_SCHEMAS)]


def schema_choices(names: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """(name, label) pairs for forms."""
    return [(schema.name, str(schema.label)) for schema in schemas() if names is None or schema.name in names]

