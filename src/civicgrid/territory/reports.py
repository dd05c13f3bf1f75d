"""The coverage report ("不漏一户，不漏一人") as rows and as an .xlsx workbook, for the web export
(scoped to the signed-in user, audited) and for the `coverage` console command (system actor)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.utils.translation import gettext as _

from civicgrid.core import audit, exports
from civicgrid.core.models import AuditAction
from civicgrid.territory.models import REQUIRED_ROLE_BY_KIND, Node, ResponsibilityRole
from civicgrid.territory.selectors import coverage_gaps, coverage_summary, node_path_labels


def missing_role_label(node: Node) -> str:
    """The label of the role a node of this kind must have a current primary holder in."""
    role = REQUIRED_ROLE_BY_KIND.get(node.kind)
    return str(ResponsibilityRole(role).label) if role else ""


def gap_headers() -> list[str]:
    """Column headers of the gap list (Chinese source text, translated at call time)."""
    return [_("类型"), _("编码"), _("名称"), _("上级路径"), _("缺少的责任角色")]


def gap_rows(gaps: Iterable[Node], labels: dict[int, str]) -> Iterator[list[str]]:
    """One row per node without a current primary responsible person."""
    for node in gaps:
        yield [node.get_kind_display(), node.code, node.name, labels.get(node.pk, ""), missing_role_label(node)]


def summary_rows(summary: dict[str, Any], *, scope: str, on: dt.date) -> list[list[Any]]:
    """The summary sheet: scope, date and the four counts."""
    return [
        [_("范围"), scope],
        [_("统计日期"), on.isoformat()],
        [_("需配第一责任人的节点"), summary["needing"]],
        [_("已覆盖"), summary["covered"]],
        [_("缺口"), summary["gaps"]],
        [_("覆盖率(%)"), summary["percent"]],
    ]


def coverage_workbook(
    *, summary: dict[str, Any], gaps: Sequence[Node], labels: dict[int, str], scope: str, on: dt.date
) -> bytes:
    """The coverage report as .xlsx: a summary sheet and the gap list (every cell formula-safe)."""
    return exports.workbook_bytes(
        [
            (_("汇总"), [_("项目"), _("数值")], summary_rows(summary, scope=scope, on=on)),
            (_("缺口清单"), gap_headers(), gap_rows(gaps, labels)),
        ]
    )


def coverage_export(*, actor: Any, root: Node | None, on: dt.date) -> bytes:
    """The actor's coverage report as .xlsx (its scope, or a subtree in it); writes an EXPORT audit row."""
    summary = coverage_summary(actor=actor, root=root, on=on)
    gaps = list(coverage_gaps(actor=actor, root=root, on=on))
    labels = node_path_labels(actor=actor, nodes=gaps)
    scope = root.name if root is not None else _("全部数据范围")
    content = coverage_workbook(summary=summary, gaps=gaps, labels=labels, scope=scope, on=on)
    audit.record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type="territory.coverage",
        object_id=str(root.pk) if root is not None else "",
        object_repr=f"包干覆盖报告 {scope} {on.isoformat()}",
        scope_path=root.path if root is not None else "",
        after={"rows": len(gaps), "on": on.isoformat(), "node": root.code if root is not None else None},
    )
    return content
