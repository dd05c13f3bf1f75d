"""The work queues' .xlsx export (scoped to the signed-in user, audited)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone

from civicgrid.cases.selectors import EXPORT_HEADERS, CaseFilters, case_export_rows
from civicgrid.core import audit, exports
from civicgrid.core.models import AuditAction

QUEUE_TITLES = {"my": "我的问题", "area": "辖区问题", "overdue": "逾期问题", "triage": "待分拣问题"}


def case_export(*, actor: Any, queue: str, filters: CaseFilters) -> bytes:
    """A queue's cases as .xlsx (every cell formula-safe); writes an EXPORT audit row."""
    today = timezone.localdate()
    rows = case_export_rows(actor=actor, queue=queue, filters=filters, today=today)
    content = exports.workbook_bytes([(QUEUE_TITLES.get(queue, "问题"), EXPORT_HEADERS, rows)])
    audit.record(
        actor=actor,
        action=AuditAction.EXPORT,
        object_type="cases.case",
        object_repr=f"{QUEUE_TITLES.get(queue, queue)} {today.isoformat()}",
        scope_path=filters.node.path if filters.node is not None else "",
        after={
            "queue": queue, "rows": len(rows), "status": filters.status, "category": filters.category,
            "severity": filters.severity, "node": filters.node.code if filters.node is not None else None,
            "overdue": filters.overdue,
        },
    )
    return content
