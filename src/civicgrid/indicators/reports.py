"""The indicator workbook (.xlsx): a node's values, its children's ranking and the trend, from the
stored values through the scoped selectors. Writing it is an audited export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from civicgrid.core import audit
from civicgrid.core.exports import workbook_bytes
from civicgrid.core.models import AuditAction
from civicgrid.indicators.models import Indicator
from civicgrid.indicators.selectors import Reading, child_ranking, indicator_node_context, node_trends
from civicgrid.territory.models import Node

ATTAINMENT_LABELS = {"met": gettext_lazy("达标"), "near": gettext_lazy("接近"), "off": gettext_lazy("未达标"), "none": "—"}
EXPORT_TREND_PERIODS = 12


def _number(reading: Reading) -> float | str:
    return reading.rounded if reading.rounded is not None else ""


def indicator_export(*, actor: Any, node: Node, indicators: Sequence[Indicator], on: dt.date) -> bytes:
    """Three sheets — 指标值, 下级排名, 趋势 — for the node (in the actor's scope) as of `on`; audited."""
    _ancestors, children = indicator_node_context(actor=actor, node=node)
    trends = node_trends(actor=actor, node=node, indicators=indicators, on=on, periods=EXPORT_TREND_PERIODS)
    attainment = {key: str(label) for key, label in ATTAINMENT_LABELS.items()}
    values, ranking, trend = [], [], []
    for indicator in indicators:
        current = trends[indicator.pk][-1]
        target = float(indicator.target) if indicator.target is not None else ""
        values.append([
            indicator.code, indicator.name, current.period_label, current.as_of or "", node.code, node.name,
            _number(current), indicator.unit_suffix, target, attainment[current.attainment],
            current.numerator, current.denominator if indicator.has_denominator else "",
        ])
        for row in child_ranking(actor=actor, indicator=indicator, node=node, children=children, on=on):
            ranking.append([
                indicator.name, row.rank or "", row.node.code, row.node.name, row.responsible, _number(row.reading),
                row.reading.numerator, row.reading.denominator if indicator.has_denominator else "",
                attainment[row.reading.attainment],
            ])
        for reading in trends[indicator.pk]:
            trend.append([
                indicator.name, reading.period_label, reading.as_of or "", _number(reading), reading.numerator,
                reading.denominator if indicator.has_denominator else "",
            ])
    content = workbook_bytes([
        (_("指标值"), [_("指标编码"), _("指标名称"), _("统计周期"), _("截至日期"), _("节点编码"), _("节点名称"),
                     _("数值"), _("单位"), _("目标值"), _("达标情况"), _("分子"), _("分母")], values),
        (_("下级排名"), [_("指标名称"), _("排名"), _("节点编码"), _("节点名称"), _("责任人"), _("数值"), _("分子"),
                      _("分母"), _("达标情况")], ranking),
        (_("趋势"), [_("指标名称"), _("统计周期"), _("截至日期"), _("数值"), _("分子"), _("分母")], trend),
    ])
    audit.record(
        actor=actor, action=AuditAction.EXPORT, object_type="indicators.indicatorvalue",
        object_repr=f"{node.name} 指标导出", scope_path=node.path,
        after={"node": node.code, "indicators": [item.code for item in indicators], "on": on.isoformat(),
               "rows": len(values) + len(ranking) + len(trend)},
    )
    return content
