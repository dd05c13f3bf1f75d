"""The import engine: find each sheet's header, read rows as they stream, parse and validate every
cell, report bad rows (with the row number a person sees), drop in-file duplicates, and hand good
rows to the schema's writer in batches, each batch in its own transaction together with the job's
progress. Nothing is written before every sheet's header has been checked, so a file with the wrong
columns changes nothing; a dry run rolls every batch back and keeps only the counts."""

from __future__ import annotations

import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core.errors import ApplicationError
from civicgrid.ingest import headers
from civicgrid.ingest.files import FileRejected
from civicgrid.ingest.parsers import BLANK_MARKERS, as_text
from civicgrid.ingest.readers import SheetHead, TableSource
from civicgrid.ingest.registry import Batch, Column, ImportContext, ImportSchema, Row, RowError
from civicgrid.ingest.report import ErrorReport

PROGRESS_EVERY = 5_000
_FOOTER = re.compile(
    r"^(本页|本表|全村|全镇)?(合计|小计|总计|共计|累计|汇总)"
    r"|^(填表人|制表人|审核人|填报人|负责人|统计人|经办人|联系人|填表日期|填报日期|制表日期|填报时间|制表时间"
    r"|填报单位|制表单位|填表单位|注[:：]|说明[:：]|备注[:：])"
)
_SPACES = re.compile(r"[\s\u3000]+")
MISSING = gettext_lazy("必填项为空")


@dataclass
class Counts:
    """Rows seen (blank and footer rows excluded) and what became of them. The reading thread owns
    `total` and `invalid`; the writing thread owns the rest, so neither overwrites the other."""

    total: int = 0
    invalid: int = 0  # rows refused before the writer (parse, validation, duplicates)
    written: int = 0  # rows handed to the writer in committed (or dry-run) batches
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    write_errors: int = 0  # rows the writer refused

    @property
    def processed(self) -> int:
        return self.invalid + self.written

    @property
    def errors(self) -> int:
        return self.invalid + self.write_errors


@dataclass
class SheetPlan:
    index: int
    name: str
    match: headers.HeaderMatch
    head: SheetHead
    ignored: list[str] = field(default_factory=list)


def is_footer(cells: list[Any]) -> bool:
    """A total, signature or note line under the table (合计, 小计, 填表人：…, 注：…)."""
    seen = 0
    for value in cells:
        text = as_text(value)
        if not text:
            continue
        if _FOOTER.match(_SPACES.sub("", text)):
            return True
        seen += 1
        if seen >= 4:
            return False
    return False


class MergeFill:
    """Gives every cell of a merged range below the header the range's value: real ledgers merge a
    village name or a household head down many rows."""

    def __init__(self, merges: list[tuple[int, int, int, int]], header_last_row: int) -> None:
        self.starts = sorted(
            (row0, row1, col0, col1) for row0, col0, row1, col1 in merges if row0 > header_last_row
        )
        self.position = 0
        self.active: list[tuple[int, int, int, Any]] = []

    @property
    def pending(self) -> bool:
        return self.position < len(self.starts) or bool(self.active)

    def apply(self, row_index: int, cells: list[Any]) -> list[Any]:
        cells = list(cells)
        while self.position < len(self.starts) and self.starts[self.position][0] <= row_index:
            first_row, last_row, first_column, last_column = self.starts[self.position]
            self.position += 1
            # A range whose first row is absent from the file (an empty row) has no value to spread.
            if first_row == row_index:
                value = cells[first_column] if first_column < len(cells) else ""
                self.active.append((last_row, first_column, last_column, value))
        self.active = [entry for entry in self.active if entry[0] >= row_index]
        for _last_row, first_column, last_column, value in self.active:
            if len(cells) <= last_column:
                cells.extend([""] * (last_column + 1 - len(cells)))
            for column in range(first_column, last_column + 1):
                cells[column] = value
        return cells


class BatchWriter:
    """Writes batches on a second thread that shares the reading thread's database connection, so
    reading and validating the next batch overlaps the database work on the previous one (sqlite3
    and psycopg release the GIL while the database works). At most one batch is in flight, and the
    reading thread does not touch the database while it is: it only parses, validates and reports."""

    def __init__(self, flush: Callable[[Batch], None], *, overlap: bool) -> None:
        self.flush = flush
        self.overlap = overlap
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def idle(self) -> bool:
        return self._thread is None or not self._thread.is_alive()

    def submit(self, batch: Batch) -> None:
        """Wait for the batch in flight (raising its error), then start writing this one."""
        self.wait()
        if not self.overlap:
            self.flush(batch)
            return
        connection = connections[DEFAULT_DB_ALIAS]
        connection.inc_thread_sharing()
        language = translation.get_language()
        self._thread = threading.Thread(target=self._run, args=(connection, batch, language), daemon=True)
        self._thread.start()

    def _run(self, connection: Any, batch: Batch, language: str | None) -> None:
        # Django's connections are per thread: hand this thread the reading thread's connection so
        # the batch's transaction, the job's progress and the writer's queries all use it. The
        # active language is per thread too: the writer's row errors use the reading thread's.
        connections[DEFAULT_DB_ALIAS] = connection
        try:
            with translation.override(language):
                self.flush(batch)
        except BaseException as exc:  # re-raised on the reading thread by wait()
            self._error = exc
        finally:
            connection.dec_thread_sharing()

    def wait(self, *, raise_error: bool = True) -> None:
        """Block until no batch is in flight; re-raise the writer's error, if any."""
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._error is not None and raise_error:
            error, self._error = self._error, None
            raise error


# The GIL switch interval while a writer thread works beside the reading thread. The reading thread
# wants the GIL all the time; each time a database call of the writer returns (a COPY, a commit), the
# writer waits for the GIL until the interval forces a switch: 5 ms by default, about 8 round trips a
# batch on PostgreSQL. At 0.5 ms a 100,000-row CSV import took 1.8 s instead of 2.8 s on PostgreSQL and
# 1.7 s instead of 2.0 s on SQLite (bench/README.md); reading a file alone is no slower.
WRITER_SWITCH_INTERVAL = 0.0005
_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.0


@contextmanager
def short_gil_switches() -> Iterator[None]:
    """Set the interpreter's switch interval (process-wide) to WRITER_SWITCH_INTERVAL while at least
    one pipeline with a writer thread runs, and restore it after the last one."""
    global _switch_users, _switch_saved  # noqa: PLW0603 - one process-wide setting, counted
    with _switch_lock:
        if _switch_users == 0:
            _switch_saved = sys.getswitchinterval()
            sys.setswitchinterval(min(_switch_saved, WRITER_SWITCH_INTERVAL))
        _switch_users += 1
    try:
        yield
    finally:
        with _switch_lock:
            _switch_users -= 1
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


class Pipeline:
    """One run of one schema over one table source."""

    def __init__(
        self,
        *,
        schema: ImportSchema,
        source: TableSource,
        context: ImportContext,
        report: ErrorReport,
        sheet: str = "",
        batch_size: int | None = None,
        row_offset: int = 1,
        on_progress: Callable[[Counts, bool], None] | None = None,
        overlap: bool = True,
    ) -> None:
        self.schema = schema
        self.source = source
        self.context = context
        self.report = report
        self.sheet = sheet
        self.batch_size = schema.batch_size if batch_size is None else batch_size
        self.row_offset = row_offset
        self.on_progress = on_progress
        self.counts = Counts()
        self._write_errors: deque[tuple[Row, str, str]] = deque()
        # Whole-file batches gain nothing from overlapping; everything else reads the next batch
        # while the previous one is written.
        self.writer = BatchWriter(self._flush, overlap=overlap and schema.overlap_writes and self.batch_size > 0)
        self._sheet_index: dict[str, int] = {}
        # The header text each field had in each sheet: the report names columns as the file does.
        self._labels: dict[str, dict[str, str]] = {}

    # -- headers -----------------------------------------------------------------------------------

    def plan(self) -> list[SheetPlan]:
        """Detect the header of every sheet; raise FileRejected when a sheet that holds data lacks
        required columns, or when no sheet has a usable header. Sheets without any matching header
        are noted in the report, never skipped silently."""
        names = self.source.sheet_names()
        if self.sheet and self.sheet not in names:
            raise FileRejected(
                _("文件中没有名为“%(sheet)s”的工作表；现有：%(sheets)s") % {"sheet": self.sheet, "sheets": "、".join(names)}
            )
        schema = self.schema
        plans: list[SheetPlan] = []
        refused: list[str] = []
        best: tuple[int, str, headers.HeaderMatch | None] | None = None
        enough = min(2, len(schema.columns))
        for index, name in enumerate(names):
            self._sheet_index[name] = index
            if self.sheet and name != self.sheet:
                continue
            head = self.source.head(index)
            match = headers.detect(schema, head)
            matched = len(match.columns) if match else 0
            if best is None or matched > best[0]:
                best = (matched, name, match)
            if match is None or matched < enough:
                first = headers.first_row_text(head)
                shown = "、".join(first[:8]) if first else _("（空表）")
                self.report.note(
                    name,
                    _("未找到与“%(schema)s”匹配的表头，该工作表未导入；首行内容：%(first)s")
                    % {"schema": schema.label, "first": shown},
                )
                continue
            if match.missing:
                refused.append(headers.describe_missing(match, schema, name))
                continue
            self._labels[name] = {
                column.field: match.texts[index].rsplit(" / ", 1)[-1] for index, column in match.columns.items()
            }
            mapped = set(match.columns)
            ignored = [text for column, text in sorted(match.texts.items()) if column not in mapped and text]
            plans.append(SheetPlan(index=index, name=name, match=match, head=head, ignored=ignored))
        if refused:
            raise FileRejected("；".join(refused[:5]) + ("……" if len(refused) > 5 else ""))
        if not plans:
            if best is None:
                raise FileRejected(_("文件中没有工作表"))
            raise FileRejected(headers.describe_missing(best[2], schema, best[1]))
        return plans

    # -- rows --------------------------------------------------------------------------------------

    def run(self, plans: list[SheetPlan]) -> Counts:
        """Validate and write every row of the planned sheets."""
        if self.schema.prepare is not None:
            self.schema.prepare(self.context)
        seen: dict[Hashable, int] = {}
        batch: list[Row] = []
        with short_gil_switches() if self.writer.overlap else nullcontext():
            try:
                for plan in plans:
                    self._run_sheet(plan, seen, batch)
                if batch:
                    self._hand_over(batch)
            finally:
                # Never leave a batch in flight: the caller uses the connection next.
                self.writer.wait(raise_error=False)
        self.writer.wait()
        self._drain()
        self._progress(final=True)
        return self.counts

    def _run_sheet(self, plan: SheetPlan, seen: dict[Hashable, int], batch: list[Row]) -> None:
        # The loop below runs once per row of a million-row file: locals only, no helper calls on
        # the common path, the packed (sheet << 32 | row) ints in `seen` keep the dict small.
        schema = self.schema
        context = self.context
        counts = self.counts
        validate = schema.validate
        key_fields = schema.key
        single_key = key_fields[0] if len(key_fields) == 1 else None
        batch_size = self.batch_size
        offset = self.row_offset
        sheet_name = plan.name
        sheet_index = plan.index
        mapping: list[tuple[int, Column]] = sorted(plan.match.columns.items())
        compiled = [
            (index, column.field, column.parser, column.required, column) for index, column in mapping
        ]
        first_column = mapping[0][1]
        data_start = plan.match.last_row + 1
        merges = MergeFill(plan.head.merges, plan.match.last_row)
        markers = BLANK_MARKERS
        missing = str(MISSING)  # in the language active now, once per sheet
        since_progress = 0

        for row_index, cells in self.source.rows(plan.index):
            if row_index < data_start:
                continue
            if merges.pending:
                cells = merges.apply(row_index, cells)
            width = len(cells)
            values: dict[str, Any] = {}
            errors: list[tuple[Column, Any, str]] | None = None
            filled = False
            for index, field_name, parser, required, column in compiled:
                raw = cells[index] if index < width else None
                if type(raw) is str:
                    text = raw.strip()
                    if not text or (not required and text in markers):
                        filled = filled or bool(text)
                        if required:
                            errors = errors or []
                            errors.append((column, raw, missing))
                        values[field_name] = None
                        continue
                    raw = text
                elif raw is None:
                    if required:
                        errors = errors or []
                        errors.append((column, raw, missing))
                    values[field_name] = None
                    continue
                filled = True
                if parser is None:
                    values[field_name] = raw
                    continue
                try:
                    values[field_name] = parser(raw)
                except (ValueError, TypeError, RowError, ApplicationError) as exc:
                    errors = errors or []
                    errors.append((column, raw, _reason(exc)))
            if not filled:
                continue  # a blank row (or one with only a 序号)
            number = row_index + offset
            if errors is None and validate is not None:
                try:
                    validate(values, context)
                except (RowError, ApplicationError, ValueError) as exc:
                    column = schema.column(getattr(exc, "column", "") or "") or first_column
                    errors = [(column, values.get(column.field, ""), _reason(exc))]
            if errors is None and key_fields:
                key = values[single_key] if single_key is not None else tuple(values[name] for name in key_fields)
                first = seen.get(key)
                if first is None:
                    seen[key] = (sheet_index << 32) | number
                else:
                    errors = [self._duplicate(values, key_fields[0], first, sheet_index)]
            if errors is not None:
                if is_footer(cells):
                    continue
                counts.total += 1
                counts.invalid += 1
                self._report_row(sheet_name, sheet_index, number, errors)
            else:
                counts.total += 1
                batch.append(Row(sheet_name, number, values))
                if batch_size and len(batch) >= batch_size:
                    self._hand_over(batch)
                    self._drain()
                    since_progress = 0
                    continue
            since_progress += 1
            if since_progress >= PROGRESS_EVERY and self.writer.idle:
                self._drain()
                self._progress(final=False)
                since_progress = 0

    def _hand_over(self, batch: list[Row]) -> None:
        """Stage the batch (while the previous one may still be written), hand it to the writer and
        empty `batch` for the next rows."""
        stage = self.schema.stage
        rows = Batch(batch)
        batch.clear()
        if stage is not None:
            rows.staged = stage(rows, self.context)
        self.writer.submit(rows)

    def _duplicate(self, values: dict[str, Any], field_name: str, first: int, sheet_index: int) -> tuple[Column, Any, str]:
        column = self.schema.column(field_name) or self.schema.columns[0]
        first_sheet, first_row = first >> 32, first & 0xFFFFFFFF
        if first_sheet == sheet_index:
            reason = _("与第%(row)s行重复") % {"row": first_row}
        else:
            reason = _("与工作表“%(sheet)s”第%(row)s行重复") % {"sheet": self._sheet_name(first_sheet), "row": first_row}
        return column, values.get(field_name), reason

    def _report_row(self, sheet: str, sheet_index: int, number: int, errors: list[tuple[Column, Any, str]]) -> None:
        labels = self._labels.get(sheet, {})
        for column, raw, reason in errors:
            self.report.add(
                sheet=sheet, sheet_index=sheet_index, row=number, column=labels.get(column.field, column.label),
                value=raw, reason=reason, sensitive=column.sensitive,
            )

    def _sheet_name(self, index: int) -> str:
        for name, position in self._sheet_index.items():
            if position == index:
                return name
        return ""

    def _flush(self, batch: Batch) -> None:
        """Write one batch in its own transaction (runs on the writer thread)."""
        counts = self.counts
        with transaction.atomic():
            result = self.schema.writer(batch, self.context)
            counts.written += len(batch)
            counts.created += result.created
            counts.updated += result.updated
            counts.unchanged += result.unchanged
            counts.write_errors += len({(row.sheet, row.number) for row, _, _ in result.errors})
            if self.context.dry_run:
                transaction.set_rollback(True)
            elif self.on_progress is not None:
                # Progress is committed with the batch it describes, so a crash never over-reports.
                self.on_progress(counts, False)
        if self.context.dry_run and self.on_progress is not None:
            self.on_progress(counts, False)
        self._write_errors.extend(result.errors)

    def _drain(self) -> None:
        """Move the writer's refusals into the report (on the reading thread, which owns the report)."""
        while self._write_errors:
            row, field_name, reason = self._write_errors.popleft()
            column = self.schema.column(field_name)
            label = self._labels.get(row.sheet, {}).get(field_name) or (column.label if column else field_name)
            self.report.add(
                sheet=row.sheet, sheet_index=self._sheet_index.get(row.sheet, 0), row=row.number,
                column=label, value=row.values.get(field_name, ""),
                reason=reason, sensitive=column.sensitive if column else "",
            )

    def _progress(self, *, final: bool) -> None:
        if self.on_progress is not None:
            self.on_progress(self.counts, final)


def _reason(exc: BaseException) -> str:
    message = getattr(exc, "message", None)
    return str(message if isinstance(message, str) else exc)
