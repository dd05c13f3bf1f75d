"""Per-request facts (client address) that the audit trail records without threading them through services,
and the one rule for what a request's client address is."""

import ipaddress
from contextvars import ContextVar

from django.conf import settings
from django.http import HttpRequest

client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def request_client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or behind CIVICGRID_TRUSTED_PROXIES = N reverse proxies the
    N-th entry from the right of X-Forwarded-For (each proxy appends the address it saw), if that is an
    IP address; None when unknown. Used by the audit trail, import jobs and django-axes
    (AXES_CLIENT_IP_CALLABLE)."""
    # None, not "", for an unknown address (a server on a Unix socket sets REMOTE_ADDR to ""): axes
    # stores it as NULL and then looks for ip_address = "", which never matches, so five failures
    # never locked; with None it looks for NULL and the lockout holds.
    remote = str(request.META.get("REMOTE_ADDR") or "") or None
    proxies = int(settings.CIVICGRID_TRUSTED_PROXIES)
    if proxies <= 0:
        # Nothing in front that we trust: the header is whatever the client chose to send.
        return remote
    header = str(request.META.get("HTTP_X_FORWARDED_FOR") or "")
    entries = [entry.strip() for entry in header.split(",")] if header.strip() else []
    if len(entries) < proxies:
        # The request did not come through every proxy (or one does not append): only REMOTE_ADDR is known.
        return remote
    # Entries left of the N-th from the right were sent by the client and prove nothing.
    try:
        address = ipaddress.ip_address(entries[-proxies])
    except ValueError:
        return remote
    if isinstance(address, ipaddress.IPv6Address):
        if address.scope_id:  # "fe80::1%eth0": not storable in PostgreSQL's inet (axes) and not a client
            return remote
        address = address.ipv4_mapped or address  # one lockout key per client on dual-stack sockets
    return str(address)
