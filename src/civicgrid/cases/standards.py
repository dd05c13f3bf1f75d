"""Writes on standards (测评体系): create a draft version from item specs or an .xlsx with Chinese
headers, copy a version into a new draft, publish (after which the version never changes), and the
.xlsx export that the import reads back.

The import reads the file through the import framework's readers (content sniffing, upload limits,
zip-bomb guard, header detection with merged cells and aliases) but is all-or-nothing: a checklist is
one document, so any bad row rejects the file with every row's reason and writes nothing.

The checklist file speaks Chinese in every interface language: its column headers, scoring-rule words
and node-kind names are what the import reads back (and what the counties' own checklists use), so
the export writes them in Chinese; only the about sheet follows the reader's language."""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.accounts.roles import Action
from civicgrid.cases.models import (
    Comparison,
    ScoringRule,
    Standard,
    StandardItem,
    StandardSection,
    StandardVersion,
    VersionStatus,
)
from civicgrid.core import audit
from civicgrid.core.errors import ApplicationError
from civicgrid.core.exports import workbook_bytes
from civicgrid.core.models import AuditAction
from civicgrid.ingest import files, headers, parsers
from civicgrid.ingest.readers import open_source
from civicgrid.ingest.registry import Column, ImportSchema, WriteResult
from civicgrid.territory.models import NodeKind

MAX_ITEMS = 2000
MAX_POINTS = Decimal("9999")
MAX_THRESHOLD = Decimal("99999999999")

RULE_WORDS = {
    "合格/不合格": ScoringRule.PASS_FAIL, "合格不合格": ScoringRule.PASS_FAIL, "是否合格": ScoringRule.PASS_FAIL,
    "是否": ScoringRule.PASS_FAIL, "pass_fail": ScoringRule.PASS_FAIL,
    "计分": ScoringRule.POINTS, "评分": ScoringRule.POINTS, "打分": ScoringRule.POINTS, "points": ScoringRule.POINTS,
    "实测": ScoringRule.MEASURED, "实测值": ScoringRule.MEASURED, "测量值": ScoringRule.MEASURED,
    "measured": ScoringRule.MEASURED,
}
# The words the export writes in the rule column: data the import reads back, so never translated.
RULE_LABEL: dict[str, str] = {ScoringRule.PASS_FAIL: "合格/不合格", ScoringRule.POINTS: "计分", ScoringRule.MEASURED: "实测值"}
COMPARISON_WORDS = {
    "≥": Comparison.GTE, ">=": Comparison.GTE, "＞＝": Comparison.GTE, "不低于": Comparison.GTE, "不少于": Comparison.GTE,
    "≤": Comparison.LTE, "<=": Comparison.LTE, "＜＝": Comparison.LTE, "不高于": Comparison.LTE, "不超过": Comparison.LTE,
    "=": Comparison.EQ, "==": Comparison.EQ, "＝": Comparison.EQ, "等于": Comparison.EQ,
    "gte": Comparison.GTE, "lte": Comparison.LTE, "eq": Comparison.EQ,
}
COMPARISON_LABEL: dict[str, str] = {Comparison.GTE: "≥", Comparison.LTE: "≤", Comparison.EQ: "="}
FILE_LANGUAGE = "zh-hans"  # the language of the checklist file's headers and words (see the module docstring)


def _kind_names() -> dict[str, str]:
    """NodeKind value -> its Chinese label, whatever language is active."""
    with translation.override(FILE_LANGUAGE):
        return {value: str(label) for value, label in NodeKind.choices}


# Kind names as people write them, besides the labels of NodeKind ("村/社区", "镇/街道", …).
KIND_WORDS: dict[str, str] = {
    **{label: value for value, label in _kind_names().items()},
    **{value: value for value in NodeKind.values},
    "村": NodeKind.VILLAGE, "社区": NodeKind.VILLAGE, "镇": NodeKind.TOWN, "街道": NodeKind.TOWN,
    "乡镇": NodeKind.TOWN, "区县": NodeKind.DISTRICT, "开发区": NodeKind.DISTRICT, "大队": NodeKind.BRIGADE,
    "路口": NodeKind.POST, "路段": NodeKind.POST, "点位": NodeKind.POST,
}
_CODE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
_KIND_SPLIT = re.compile(r"[、,，;；\s]+")
_THRESHOLD_TEXT = re.compile(r"^\s*(≥|<=|>=|≤|=|==|＝|不低于|不少于|不高于|不超过)?\s*([+-]?\d+(?:\.\d+)?)\s*(\S*)\s*$")


def _kinds(value: Any) -> list[str]:
    words = [word for word in _KIND_SPLIT.split(parsers.as_text(value)) if word]
    kinds: list[str] = []
    for word in words:
        kind = KIND_WORDS.get(word) or KIND_WORDS.get(word.lower())
        if kind is None:
            known = "、".join(_kind_names().values())
            raise ValueError(_("未知的适用类型“%(value)s”，可填：%(allowed)s") % {"value": word[:20], "allowed": known})
        if kind not in kinds:
            kinds.append(kind)
    if not kinds:
        raise ValueError(_("请填写适用类型"))
    return kinds


def _points(value: Any) -> Decimal:
    number = _decimal(value)
    if number <= 0 or number > MAX_POINTS:
        raise ValueError(_("分值须大于 0 且不超过 %(maximum)s") % {"maximum": MAX_POINTS})
    return number.quantize(Decimal("0.01"))


def _decimal(value: Any) -> Decimal:
    text = parsers.as_text(value).replace(",", "").replace("分", "")
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise ValueError(_("不是数字：%(value)s") % {"value": text[:20]}) from None
    if not number.is_finite():
        raise ValueError(_("不是数字：%(value)s") % {"value": text[:20]})
    return number


def _rule(value: Any) -> str:
    return parsers.choice(RULE_WORDS, what=gettext_lazy("评分方式"))(value)


def _comparison(value: Any) -> str:
    return parsers.choice(COMPARISON_WORDS, what=gettext_lazy("比较方式"))(value)


COLUMNS = (
    Column("section", ("章节", "测评类别", "类别", "一级指标"), required=True, parser=parsers.text(100)),
    Column("code", ("编号", "序号", "项目编号", "测评编号"), required=True, parser=parsers.code(20)),
    Column("title", ("检查项目", "测评项目", "测评内容", "检查内容项目"), required=True, parser=parsers.text(200)),
    Column("criteria", ("评分标准", "检查内容与评分标准", "检查标准", "测评标准", "说明"), parser=parsers.text(2000)),
    Column("rule", ("评分方式", "评分规则", "计分方式"), required=True, parser=_rule),
    Column("points", ("分值", "满分", "权重"), required=True, parser=_points),
    Column("comparison", ("比较", "比较方式"), parser=_comparison),
    Column("threshold", ("阈值", "标准值", "达标值"), parser=parsers.as_text),
    Column("unit", ("单位", "计量单位"), parser=parsers.text(20)),
    Column("applies_to", ("适用类型", "适用对象", "适用节点类型"), required=True, parser=_kinds),
)
HEADERS = [column.label for column in COLUMNS]


def _unused_writer(rows: list[Any], context: Any) -> WriteResult:  # pragma: no cover - never registered
    return WriteResult()


# Used for header detection only (not registered: a checklist imports whole, see module docstring).
STANDARD_ITEM_SCHEMA = ImportSchema(
    name="cases.standard_item", label=gettext_lazy("测评项目"), columns=COLUMNS, writer=_unused_writer,
    required_action=Action.MANAGE_STANDARDS,
)


@dataclass(frozen=True)
class ItemSpec:
    """One checklist item to create."""

    section: str
    code: str
    title: str
    rule: str
    points: Decimal
    applies_to: Sequence[str]
    criteria: str = ""
    comparison: str = ""
    threshold: Decimal | None = None
    unit: str = ""


class StandardImportError(ApplicationError):
    """A standard file with bad rows: nothing was written; `rows` lists (row, column, reason)."""

    def __init__(self, message: str, *, rows: list[tuple[int, str, str]] | None = None) -> None:
        super().__init__(message, extra={"rows": rows or []})
        self.rows = rows or []


def check_item(spec: ItemSpec) -> ItemSpec:
    """Rule-specific consistency: a measured item needs a comparison and a threshold; others have none."""
    if spec.rule not in ScoringRule.values:
        raise ValueError(_("未知的评分方式：%(rule)s") % {"rule": spec.rule})
    if spec.rule == ScoringRule.MEASURED:
        if not spec.comparison or spec.threshold is None:
            raise ValueError(_("实测值项目须填写比较方式和阈值"))
        if abs(spec.threshold) > MAX_THRESHOLD:
            raise ValueError(_("阈值过大"))
    elif spec.comparison or spec.threshold is not None:
        raise ValueError(_("只有实测值项目可以填写比较方式和阈值"))
    for kind in spec.applies_to:
        if kind not in NodeKind.values:
            raise ValueError(_("未知的适用类型：%(kind)s") % {"kind": kind})
    if not spec.applies_to:
        raise ValueError(_("请填写适用类型"))
    return spec


def _spec_from_row(values: dict[str, Any]) -> ItemSpec:
    comparison = values.get("comparison") or ""
    threshold: Decimal | None = None
    unit = values.get("unit") or ""
    raw = (values.get("threshold") or "").strip()
    if raw:
        match = _THRESHOLD_TEXT.match(raw)
        if match is None:
            raise ValueError(_("无法识别的阈值“%(value)s”，例如 98 或 ≥98") % {"value": raw[:20]})
        written, number, suffix = match.groups()
        if written:
            parsed = COMPARISON_WORDS[written]
            if comparison and comparison != parsed:
                raise ValueError(_("阈值中的比较符号与“比较”列不一致"))
            comparison = parsed
        threshold = Decimal(number)
        unit = unit or suffix[:20]
    return check_item(
        ItemSpec(
            section=values["section"], code=values["code"], title=values["title"], rule=values["rule"],
            points=values["points"], applies_to=values["applies_to"], criteria=values.get("criteria") or "",
            comparison=comparison, threshold=threshold, unit=unit,
        )
    )


def _check_manager(actor: Any) -> None:
    if actor is not None and not actor.can(Action.MANAGE_STANDARDS):
        raise ApplicationError(_("无权维护测评体系"))


def standard_version_create(
    *,
    actor: Any,
    code: str,
    name: str = "",
    effective_from: dt.date,
    items: Sequence[ItemSpec],
    note: str = "",
    description: str = "",
) -> StandardVersion:
    """A new draft version of the standard `code` (created with `name` when new) holding the items,
    sections in order of first appearance."""
    _check_manager(actor)
    code = code.strip()
    if not _CODE.match(code):
        raise ApplicationError(_("体系编码须为 1 到 32 位字母、数字、“-”“_”“.”"))
    if not items:
        raise ApplicationError(_("没有检查项目"))
    if len(items) > MAX_ITEMS:
        raise ApplicationError(_("检查项目超过 %(maximum)s 项") % {"maximum": MAX_ITEMS})
    codes = [spec.code for spec in items]
    duplicates = sorted({item for item in codes if codes.count(item) > 1})
    if duplicates:
        raise ApplicationError(_("编号重复：%(codes)s") % {"codes": "、".join(duplicates[:10])})
    for spec in items:
        try:
            check_item(spec)
        except ValueError as exc:
            raise ApplicationError(_("%(code)s：%(error)s") % {"code": spec.code, "error": exc}) from exc
    with transaction.atomic():
        standard = Standard.objects.select_for_update().filter(code=code).first()
        if standard is None:
            if not name.strip():
                raise ApplicationError(_("新测评体系须填写名称"))
            try:
                with transaction.atomic():
                    standard = Standard.objects.create(code=code, name=name.strip()[:100], description=description)
            except IntegrityError as exc:
                raise ApplicationError(_("体系编码 %(code)s 已存在") % {"code": code}) from exc
            audit.record(actor=actor, action=AuditAction.CREATE, instance=standard, after=audit.snapshot(standard))
            standard = Standard.objects.select_for_update().get(pk=standard.pk)
        elif name.strip() and name.strip() != standard.name:
            standard.name = name.strip()[:100]
            standard.save(update_fields=["name"])
        number = (standard.versions.aggregate(top=Max("number"))["top"] or 0) + 1
        version = StandardVersion.objects.create(
            standard=standard, number=number, effective_from=effective_from, note=note[:200], created_by=actor,
        )
        sections: dict[str, StandardSection] = {}
        rows = []
        for order, spec in enumerate(items, start=1):
            section = sections.get(spec.section)
            if section is None:
                section = StandardSection.objects.create(version=version, order=len(sections) + 1, title=spec.section)
                sections[spec.section] = section
            rows.append(
                StandardItem(
                    version=version, section=section, code=spec.code, order=order, title=spec.title,
                    criteria=spec.criteria, rule=spec.rule, points=spec.points, comparison=spec.comparison,
                    threshold=spec.threshold, unit=spec.unit, applies_to=list(spec.applies_to),
                )
            )
        StandardItem.objects.bulk_create(rows)
        audit.record(
            actor=actor, action=AuditAction.CREATE, instance=version,
            after={"standard": standard.code, "number": number, "items": len(rows), "sections": len(sections)},
        )
    return version


def standard_version_copy(*, actor: Any, version: StandardVersion, effective_from: dt.date) -> StandardVersion:
    """A new draft with the items of a version: how a published standard is changed."""
    items = [
        ItemSpec(
            section=item.section.title, code=item.code, title=item.title, rule=item.rule, points=item.points,
            applies_to=list(item.applies_to), criteria=item.criteria, comparison=item.comparison,
            threshold=item.threshold, unit=item.unit,
        )
        for item in version.items.select_related("section").order_by("order")
    ]
    return standard_version_create(
        actor=actor, code=version.standard.code, effective_from=effective_from, items=items,
        note=_("由 v%(number)s 复制") % {"number": version.number},
    )


def standard_version_publish(*, actor: Any, version: StandardVersion, now: dt.datetime | None = None) -> StandardVersion:
    """Publish a draft: from now on it is immutable and inspections may use it."""
    _check_manager(actor)
    with transaction.atomic():
        locked = StandardVersion.objects.select_for_update(of=("self",)).select_related("standard").get(pk=version.pk)
        if locked.status != VersionStatus.DRAFT:
            raise ApplicationError(_("%(version)s 已发布，不能重复发布；修改请复制为新版本") % {"version": locked})
        if not locked.items.exists():
            raise ApplicationError(_("没有检查项目的版本不能发布"))
        locked.status = VersionStatus.PUBLISHED
        locked.published_at = now or timezone.now()
        locked.published_by = actor
        locked.save(update_fields=["status", "published_at", "published_by"])
        audit.record(actor=actor, action=AuditAction.UPDATE, instance=locked, before={"status": "draft"},
                     after={"status": "published"}, reason="发布测评体系")
    return locked


def standard_version_delete(*, actor: Any, version: StandardVersion) -> None:
    """Delete a draft version (published versions are kept for ever: inspections refer to them)."""
    _check_manager(actor)
    with transaction.atomic():
        locked = StandardVersion.objects.select_for_update(of=("self",)).select_related("standard").get(pk=version.pk)
        if locked.status != VersionStatus.DRAFT:
            raise ApplicationError(_("已发布的版本不能删除"))
        audit.record(actor=actor, action=AuditAction.DELETE, instance=locked,
                     before={"standard": locked.standard.code, "number": locked.number})
        locked.delete()


# --- .xlsx ----------------------------------------------------------------------------------------


def read_items(upload: Any) -> list[ItemSpec]:
    """Items from an uploaded .xlsx/.xls/.csv with the standard's Chinese headers; StandardImportError
    with every bad row (nothing is kept from a file with errors)."""
    with tempfile.TemporaryDirectory(prefix="cg-standard-") as directory:
        path = files.store(upload, Path(directory))
        info = files.inspect(path, file_format="table")
        source = open_source(path, info, display_name=getattr(upload, "name", "") or "CSV")
        try:
            return _read_source(source)
        finally:
            source.close()


def _read_source(source: Any) -> list[ItemSpec]:
    best: tuple[str, Any] = ("", None)
    chosen = None
    for index, sheet in enumerate(source.sheet_names()):
        match = headers.detect(STANDARD_ITEM_SCHEMA, source.head(index))
        if match is not None and not match.missing:
            chosen = (index, match)
            break
        if match is not None and (best[1] is None or len(match.columns) > len(best[1].columns)):
            best = (sheet, match)
        elif not best[0]:
            best = (sheet, best[1])
    if chosen is None:
        raise StandardImportError(headers.describe_missing(best[1], STANDARD_ITEM_SCHEMA, best[0]))
    index, match = chosen
    mapping = sorted(match.columns.items())
    specs: list[ItemSpec] = []
    problems: list[tuple[int, str, str]] = []
    seen: dict[str, int] = {}
    for row_index, cells in source.rows(index):
        if row_index <= match.last_row:
            continue
        number = row_index + 1
        values: dict[str, Any] = {}
        errors: list[tuple[int, str, str]] = []
        filled = False
        for column_index, column in mapping:
            raw = cells[column_index] if column_index < len(cells) else None
            if parsers.is_blank(raw):
                values[column.field] = None
                if column.required:
                    errors.append((number, column.label, _("必填项为空")))
                continue
            filled = True
            try:
                values[column.field] = column.parser(raw) if column.parser else raw
            except (ValueError, ApplicationError) as exc:
                errors.append((number, column.label, getattr(exc, "message", None) or str(exc)))
        if not filled:
            continue
        code = values.get("code")
        if code is not None:
            if code in seen:
                errors.append((number, "编号", _("与第 %(row)s 行编号重复") % {"row": seen[code]}))
            else:
                seen[code] = number
        if not errors:
            try:
                specs.append(_spec_from_row(values))
            except ValueError as exc:
                errors.append((number, "阈值", str(exc)))
        problems.extend(errors)
        if len(specs) > MAX_ITEMS:
            raise StandardImportError(_("检查项目超过 %(maximum)s 项") % {"maximum": MAX_ITEMS})
    if problems:
        listed = "；".join(
            _("第 %(row)s 行 %(column)s：%(reason)s") % {"row": row, "column": column, "reason": reason}
            for row, column, reason in problems[:20]
        )
        more = _("；另有 %(count)s 处错误") % {"count": len(problems) - 20} if len(problems) > 20 else ""
        raise StandardImportError(
            _("文件有 %(count)s 处错误，未导入任何内容：%(errors)s") % {"count": len(problems), "errors": listed + more},
            rows=problems,
        )
    if not specs:
        raise StandardImportError(_("文件中没有检查项目"))
    return specs


def standard_import_xlsx(
    *, actor: Any, upload: Any, code: str, name: str = "", effective_from: dt.date, note: str = "",
) -> StandardVersion:
    """Import a checklist file as a new draft version of the standard `code` (audited as an import)."""
    _check_manager(actor)
    specs = read_items(upload)
    with transaction.atomic():
        version = standard_version_create(
            actor=actor, code=code, name=name, effective_from=effective_from, items=specs,
            note=note or (_("导入自 %(file)s") % {"file": getattr(upload, "name", "")})[:200],
        )
        audit.record(actor=actor, action=AuditAction.IMPORT, instance=version,
                     after={"file": str(getattr(upload, "name", ""))[:100], "items": len(specs)})
    return version


def _number_text(value: Decimal | None) -> str:
    if value is None:
        return ""
    return format(value.normalize(), "f")


def export_rows(version: StandardVersion) -> list[list[Any]]:
    """The version's items as rows under HEADERS (what read_items reads back, in any interface language)."""
    labels = _kind_names()
    rows = []
    for item in version.items.select_related("section").order_by("order"):
        rows.append([
            item.section.title, item.code, item.title, item.criteria, RULE_LABEL[ScoringRule(item.rule)],
            _number_text(item.points), COMPARISON_LABEL.get(item.comparison, "") if item.comparison else "",
            _number_text(item.threshold), item.unit, "、".join(labels.get(kind, kind) for kind in item.applies_to),
        ])
    return rows


def standard_version_export(*, actor: Any, version: StandardVersion) -> bytes:
    """The version as .xlsx: the items sheet (the import's Chinese headers) and an about sheet in the
    reader's language; audited."""
    about: list[list[Any]] = [
        [_("体系编码"), version.standard.code], [_("体系名称"), version.standard.name], [_("版本号"), version.number],
        [_("状态"), str(version.get_status_display())], [_("生效日期"), version.effective_from.isoformat()],
        [_("版本说明"), version.note],
    ]
    content = workbook_bytes([
        (_("测评项目"), HEADERS, export_rows(version)),
        (_("说明"), [_("项目"), _("内容")], about),
    ])
    audit.record(actor=actor, action=AuditAction.EXPORT, instance=version,
                 after={"standard": version.standard.code, "number": version.number})
    return content
