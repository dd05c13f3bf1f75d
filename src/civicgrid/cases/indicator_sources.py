"""What the indicators engine may count in this app, and the loop's own built-in indicators:
结案率 (closed ÷ due to close), 按期整改率 (closed by the deadline ÷ due to close), 检查合格率 (items
passed ÷ items checked in completed inspections) and 返工率 (closed after at least one rejection ÷
closed). "Due to close" are the cases whose deadline falls in the period, cancelled ones excepted
(domain.md §3.4). Imported from CasesConfig.ready(); services call notify_changed after commit."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from civicgrid.cases.models import CaseStatus, InspectionStatus
from civicgrid.indicators.registry import (
    Aggregate,
    BuiltinIndicator,
    Direction,
    Measure,
    Source,
    Unit,
    register_builtin,
    register_source,
)

DUE_STATUSES = [status for status in CaseStatus.values if status != CaseStatus.CANCELLED]

CASE_SOURCE = register_source(
    Source(
        code="cases.case",
        label=_("问题（查问题—抓整改）"),
        model="cases.Case",
        node_field="node",
        date_fields=("opened_at", "deadline", "closed_at"),
        filter_fields={
            "status": ("exact", "in"),
            "closed_on_time": ("exact", "isnull"),
            "source": ("exact", "in"),
            "severity": ("exact", "in"),
            "category": ("exact", "in"),
            "needs_triage": ("exact",),
            "rejection_count": ("exact", "gt", "gte"),
            "escalation_level": ("exact", "gt", "gte"),
            "closed_at": ("isnull",),
        },
        sum_fields=("rejection_count", "escalation_level"),
        description=_("每个问题按所属网格计入；整改期限落在统计期内即为应结案。"),
    )
)

INSPECTION_SOURCE = register_source(
    Source(
        code="cases.inspection",
        label=_("测评检查"),
        model="cases.Inspection",
        node_field="node",
        date_fields=("inspected_on", "completed_at"),
        filter_fields={"status": ("exact", "in")},
        sum_fields=("items_checked", "items_passed", "items_failed", "items_not_applicable"),
        description=_("每次已完成的检查按检查对象计入，合格率按检查项目计算。"),
    )
)

_DUE = Measure("cases.case", date_field="deadline", filters={"status__in": DUE_STATUSES})

register_builtin(
    BuiltinIndicator(
        code="closure_rate", name=_("结案率"), unit=Unit.PERCENT, target=Decimal("95"), direction=Direction.HIGHER,
        numerator=Measure("cases.case", date_field="deadline", filters={"status": CaseStatus.CLOSED}),
        denominator=_DUE, order=10,
        description=_("结案数 ÷ 应结案数（整改期限在统计期内、未撤销的问题）。"),
    )
)
register_builtin(
    BuiltinIndicator(
        code="on_time_rate", name=_("按期整改率"), unit=Unit.PERCENT, target=Decimal("90"),
        direction=Direction.HIGHER,
        numerator=Measure(
            "cases.case", date_field="deadline", filters={"status": CaseStatus.CLOSED, "closed_on_time": True}
        ),
        denominator=_DUE, order=11,
        description=_("按期结案数（在整改期限当日或之前核查销号）÷ 应结案数。"),
    )
)
register_builtin(
    BuiltinIndicator(
        code="inspection_pass_rate", name=_("检查合格率"), unit=Unit.PERCENT, target=Decimal("98"),
        direction=Direction.HIGHER,
        numerator=Measure("cases.inspection", aggregate=Aggregate.SUM, sum_field="items_passed",
                          date_field="inspected_on", filters={"status": InspectionStatus.COMPLETED}),
        denominator=Measure("cases.inspection", aggregate=Aggregate.SUM, sum_field="items_checked",
                            date_field="inspected_on", filters={"status": InspectionStatus.COMPLETED}),
        order=12,
        description=_("已完成检查中合格项目数 ÷ 检查项目数（不适用项不计）。"),
    )
)
register_builtin(
    BuiltinIndicator(
        code="reopen_rate", name=_("返工率"), unit=Unit.PERCENT, target=Decimal("10"), direction=Direction.LOWER,
        numerator=Measure(
            "cases.case", date_field="deadline", filters={"status": CaseStatus.CLOSED, "rejection_count__gt": 0}
        ),
        denominator=Measure("cases.case", date_field="deadline", filters={"status": CaseStatus.CLOSED}),
        order=13,
        description=_("核查退回过至少一次的结案数 ÷ 结案数。"),
    )
)
