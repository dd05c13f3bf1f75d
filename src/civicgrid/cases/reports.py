"""The work queues' .xlsx export (scoped to the signed-in user, audited)."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from civicgrid.cases.selectors import EXPORT_HEADERS, CaseFilters, case_export_rows
from civicgrid.core import audit, exports
from civicgrid.core.models import AuditAction

# Chinese in the audit trail, translated for the sheet's name.
QUEUE_TITLES = {
    "my": gettext_noop("我的问题"), "area": gettext_noop("辖区问题"), "overdue": gettext_noop("逾期问题"),
    "triage": gettext_noop("待分拣问题"),
}


def case_export(*, actor: Any, queue: str, filters: CaseFilters) -> bytes:
    """A queue's cases as .xlsx (every cell formula-safe); writes an EXPORT audit row."""
    today = timezone.localdate()
    rows = case_export_rows(actor=actor, queue=queue, filters=filters, today=today)
    headers = [str(header) for header in EXPORT_HEADERS]
    content = exports.workbook_bytes([(_(QUEUE_TITLES.get(queue, gettext_noop("问题"))), headers, rows)])
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
