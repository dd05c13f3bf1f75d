"""The indicator-source registry. A domain app describes what indicators may count or sum — a
registry of records attributed to territory nodes (a `Source` over a model) or a state computed per
node and day (a snapshot `Source` with a function) — and may ship built-in indicator definitions
(`BuiltinIndicator`). The engine (civicgrid.indicators) imports no domain app: apps register here
from their AppConfig.ready(), e.g. in `<app>/indicator_sources.py`::

    register_source(Source(
        code="cases.case", label=_("问题案件"), model="cases.Case", node_field="node",
        date_fields=("opened_at", "deadline", "closed_at"),
        filter_fields={"status": ("exact", "in"), "closed_at": ("isnull", "lte")},
    ))
    register_builtin(BuiltinIndicator(
        code="closure_rate", name=_("结案率"), unit=Unit.PERCENT, target=Decimal("95"),
        numerator=Measure("cases.case", date_field="closed_at", filters={"status__in": ["closed"]}),
        denominator=Measure("cases.case", date_field="deadline"),
    ))

A filter is Django-style, `field__lookup: value`; the value may be `{"field": "other"}` to compare two
fields of the record (e.g. `{"closed_at__lte": {"field": "deadline"}}`). Every field and lookup an
indicator uses must be declared by its source; `validate_measure` says which one is not, by name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext as _

from civicgrid.core.errors import ApplicationError


class Aggregate(StrEnum):
    COUNT = "count"
    SUM = "sum"


class Window(StrEnum):
    """Which records a period takes. PERIOD (a flow, e.g. cases closed): records dated inside the
    period, up to the cut day. CUMULATIVE (a stock, e.g. e-bikes plated): every record dated on or
    before the cut day."""

    PERIOD = "period"
    CUMULATIVE = "cumulative"


class Unit(StrEnum):
    PERCENT = "percent"  # ratio × 100, shown with %
    PERMILLE = "permille"  # ratio × 1000, shown with ‰
    RATIO = "ratio"  # plain quotient
    COUNT = "count"  # no denominator: the numerator itself


class Direction(StrEnum):
    HIGHER = "higher"  # higher is better
    LOWER = "lower"  # lower is better


class PeriodKind(StrEnum):
    DAY = "day"
    WEEK = "week"  # ISO week, Monday to Sunday
    MONTH = "month"
    YEAR = "year"


# Lookups the engine knows how to apply (in SQL for model sources, in Python for snapshot rows).
KNOWN_LOOKUPS = frozenset({"exact", "in", "isnull", "gt", "gte", "lt", "lte"})
INTEGER_FIELDS = (models.IntegerField, models.BigIntegerField, models.SmallIntegerField,
                  models.PositiveIntegerField, models.PositiveBigIntegerField, models.PositiveSmallIntegerField)

# rows(days=[...], path_prefix="", node_id=None) -> rows with "day", "node_id" and the attributes
SnapshotFunction = Callable[..., Iterable[Mapping[str, Any]]]


@dataclass(frozen=True)
class Source:
    """Something indicators can count or sum, attributed to territory nodes.

    A model source names the `model` ("app_label.ModelName" or the class), the `node_field` that
    attributes a record to a node (a ForeignKey to territory.Node, or a materialised-path field such
    as `scope_path`), the `date_fields` that place a record in a period, the `filter_fields`
    (field -> allowed lookups) and the integer `sum_fields` (money in fen, counts).

    A snapshot source has no model: `snapshot(days=[...], path_prefix="", node_id=None)` returns one
    row per node and day (keys "day", "node_id" and the attributes named in filter_fields and
    sum_fields), describing the state on that day; e.g. each node needing a responsible person and
    whether it had one (territory's coverage)."""

    code: str
    label: str | Promise
    model: type[models.Model] | str | None = None
    node_field: str = "node"
    date_fields: tuple[str, ...] = ()
    filter_fields: Mapping[str, Sequence[str]] = field(default_factory=dict)
    sum_fields: tuple[str, ...] = ()
    snapshot: SnapshotFunction | None = None
    description: str | Promise = ""

    @property
    def is_snapshot(self) -> bool:
        return self.snapshot is not None

    def get_model(self) -> type[models.Model]:
        """The model class of a model source."""
        if self.model is None:
            raise ApplicationError(_("指标数据源 %(code)s 没有模型。") % {"code": self.code})
        if isinstance(self.model, str):
            return apps.get_model(self.model)
        return self.model

    @property
    def node_is_path(self) -> bool:
        """Whether records are attributed by a materialised-path field rather than a node FK."""
        if self.is_snapshot:
            return False
        model_field = self.get_model()._meta.get_field(self.node_field)
        return not model_field.is_relation


@dataclass(frozen=True)
class Measure:
    """One side of an indicator (numerator or denominator): count or sum the source's records that
    pass the filters, placed in periods by `date_field` (snapshot sources need none)."""

    source: str
    aggregate: str = Aggregate.COUNT
    sum_field: str = ""
    date_field: str = ""
    filters: Mapping[str, Any] = field(default_factory=dict)
    window: str = Window.PERIOD

    def to_json(self) -> dict[str, Any]:
        """The form stored in Indicator.numerator / denominator."""
        return {
            "source": self.source, "aggregate": str(self.aggregate), "sum_field": self.sum_field,
            "date_field": self.date_field, "filters": dict(self.filters), "window": str(self.window),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | Measure) -> Measure:
        """Parse a stored spec; unknown keys are refused so a typo cannot pass silently."""
        if isinstance(data, Measure):
            return data
        if not isinstance(data, Mapping):
            raise ApplicationError(_("指标公式必须是对象（JSON object）。"))
        allowed = {"source", "aggregate", "sum_field", "date_field", "filters", "window"}
        unknown = sorted(set(data) - allowed)
        if unknown:
            raise ApplicationError(_("指标公式含未知项：%(keys)s。") % {"keys": ", ".join(unknown)})
        filters = data.get("filters") or {}
        if not isinstance(filters, Mapping):
            raise ApplicationError(_("筛选条件必须是对象（字段__查询: 值）。"))
        return cls(
            source=str(data.get("source", "")),
            aggregate=str(data.get("aggregate") or Aggregate.COUNT),
            sum_field=str(data.get("sum_field") or ""),
            date_field=str(data.get("date_field") or ""),
            filters=dict(filters),
            window=str(data.get("window") or Window.PERIOD),
        )


@dataclass(frozen=True)
class BuiltinIndicator:
    """An indicator definition shipped by an app; `indicators_sync_builtins()` writes it to the
    Indicator table (created, or updated where it differs), where administrators see it next to
    their own. `denominator=None` makes a count indicator (the numerator itself)."""

    code: str
    name: str | Promise
    numerator: Measure | Mapping[str, Any]
    denominator: Measure | Mapping[str, Any] | None = None
    unit: str = Unit.PERCENT
    target: Decimal | None = None
    direction: str = Direction.HIGHER
    period: str = PeriodKind.MONTH
    description: str | Promise = ""
    region_code: str = ""
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    order: int = 100


_SOURCES: dict[str, Source] = {}
_BUILTINS: dict[str, BuiltinIndicator] = {}


def register_source(source: Source) -> Source:
    """Add (or replace, on re-import) a source under its code."""
    if not source.code or (source.model is None) == (source.snapshot is None):
        raise ValueError(f"indicator source {source.code!r}: give exactly one of model or snapshot")
    _SOURCES[source.code] = source
    return source


def register_builtin(definition: BuiltinIndicator) -> BuiltinIndicator:
    """Add (or replace) a built-in indicator definition under its code."""
    _BUILTINS[definition.code] = definition
    return definition


def get_source(code: str) -> Source:
    """A registered source, or an ApplicationError naming the unknown code."""
    try:
        return _SOURCES[code]
    except KeyError:
        raise ApplicationError(_("未知的指标数据源：%(code)s。") % {"code": code or _("（空）")}) from None


def sources() -> dict[str, Source]:
    """Every registered source by code."""
    return dict(_SOURCES)


def builtins() -> dict[str, BuiltinIndicator]:
    """Every registered built-in indicator by code."""
    return dict(_BUILTINS)


def split_filter_key(key: str) -> tuple[str, str]:
    """"status__in" -> ("status", "in"); "status" -> ("status", "exact")."""
    name, _sep, lookup = key.rpartition("__")
    if name and lookup in KNOWN_LOOKUPS:
        return name, lookup
    return key, "exact"


def _model_field(model: type[models.Model], name: str) -> models.Field[Any, Any] | None:
    try:
        found = model._meta.get_field(name)
    except Exception:  # FieldDoesNotExist
        return None
    return found if isinstance(found, models.Field) else None


def validate_measure(measure: Measure | Mapping[str, Any], *, side: str = "") -> Measure:
    """The measure, parsed and checked against its source; an ApplicationError names the unknown
    source, field, lookup, aggregate or window (prefixed with `side`, e.g. "分子")."""
    parsed = Measure.from_json(measure)
    prefix = f"{side}：" if side else ""

    def fail(message: str, **values: Any) -> ApplicationError:
        return ApplicationError(prefix + (message % values))

    source = get_source(parsed.source) if parsed.source in _SOURCES else None
    if source is None:
        raise fail(_("未知的指标数据源：%(code)s。"), code=parsed.source or _("（空）"))
    if parsed.aggregate not in set(Aggregate):
        raise fail(_("未知的汇总方式：%(value)s（可用 count、sum）。"), value=parsed.aggregate)
    if parsed.window not in set(Window):
        raise fail(_("未知的统计口径：%(value)s（可用 period、cumulative）。"), value=parsed.window)
    if parsed.aggregate == Aggregate.SUM:
        if parsed.sum_field not in source.sum_fields:
            raise fail(_("数据源 %(source)s 没有可求和字段 %(field)s。"), source=source.code,
                       field=parsed.sum_field or _("（空）"))
    elif parsed.sum_field:
        raise fail(_("计数（count）不需要求和字段 %(field)s。"), field=parsed.sum_field)
    if source.is_snapshot:
        if parsed.date_field:
            raise fail(_("快照数据源 %(source)s 按日取状态，不用日期字段 %(field)s。"), source=source.code,
                       field=parsed.date_field)
    elif parsed.date_field not in source.date_fields:
        raise fail(_("数据源 %(source)s 没有日期字段 %(field)s。"), source=source.code,
                   field=parsed.date_field or _("（空）"))
    for key, value in parsed.filters.items():
        name, lookup = split_filter_key(str(key))
        allowed = source.filter_fields.get(name)
        if allowed is None:
            raise fail(_("数据源 %(source)s 不能按字段 %(field)s 筛选。"), source=source.code, field=name)
        if lookup not in allowed:
            raise fail(_("字段 %(field)s 不支持查询方式 %(lookup)s。"), field=name, lookup=lookup)
        if isinstance(value, Mapping):
            other = value.get("field")
            if set(value) != {"field"} or other not in source.filter_fields:
                raise fail(_("筛选 %(key)s 引用了不可用的字段 %(other)s。"), key=key, other=other)
            if source.is_snapshot or lookup in {"in", "isnull"}:
                raise fail(_("筛选 %(key)s 不能引用字段。"), key=key)
        elif lookup == "in" and not isinstance(value, list | tuple):
            raise fail(_("筛选 %(key)s 的值必须是列表。"), key=key)
        elif lookup == "isnull" and not isinstance(value, bool):
            raise fail(_("筛选 %(key)s 的值必须是 true 或 false。"), key=key)
        if not source.is_snapshot and not isinstance(value, Mapping):
            _check_choices(source, name, lookup, value, fail)
    return parsed


def _check_choices(source: Source, name: str, lookup: str, value: Any, fail: Callable[..., ApplicationError]) -> None:
    """A value of a field with choices must be one of them (a typo would silently match nothing)."""
    model_field = _model_field(source.get_model(), name)
    if model_field is None or not model_field.choices or lookup not in {"exact", "in"}:
        return
    allowed = {str(choice) for choice, _label in model_field.flatchoices}
    values = value if lookup == "in" else [value]
    wrong = [str(item) for item in values if str(item) not in allowed]
    if wrong:
        raise fail(_("字段 %(field)s 没有取值 %(value)s。"), field=name, value=", ".join(wrong))


def check_source(source: Source) -> list[str]:
    """Problems with a registered model source's declaration (run by the system check)."""
    if source.is_snapshot:
        return []
    problems = []
    try:
        model = source.get_model()
    except (LookupError, ValueError) as exc:
        return [f"{source.code}: model {source.model!r} not found ({exc})"]
    node_field = _model_field(model, source.node_field)
    if node_field is None:
        problems.append(f"{source.code}: no field {source.node_field!r} on {model._meta.label}")
    elif node_field.is_relation and (node_field.related_model is None
                                     or node_field.related_model._meta.label_lower != "territory.node"):
        problems.append(f"{source.code}: {source.node_field!r} must point at territory.Node or be a path field")
    for name in source.date_fields:
        if not isinstance(_model_field(model, name), models.DateField):
            problems.append(f"{source.code}: date field {name!r} is not a DateField/DateTimeField")
    for name in source.sum_fields:
        if not isinstance(_model_field(model, name), INTEGER_FIELDS):
            problems.append(f"{source.code}: sum field {name!r} is not an integer field")
    for name, lookups in source.filter_fields.items():
        if _model_field(model, name) is None:
            problems.append(f"{source.code}: filter field {name!r} does not exist")
        unknown = sorted(set(lookups) - KNOWN_LOOKUPS)
        if unknown:
            problems.append(f"{source.code}: filter field {name!r} has unknown lookups {unknown}")
    return problems
