"""Per-request facts (client address) that the audit trail records without threading them through services."""

from contextvars import ContextVar

client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)
