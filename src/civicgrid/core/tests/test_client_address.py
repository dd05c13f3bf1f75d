"""core.context.request_client_ip: REMOTE_ADDR, or the address the trusted reverse proxies saw.

The flows through real pages (audit rows, lockouts, import jobs) are tested in accounts and ingest;
this table covers the parsing of X-Forwarded-For itself."""

import pytest
from django.test import RequestFactory

from civicgrid.core.context import request_client_ip

PROXY = "10.0.0.2"


def _resolve(forwarded_for: str | None, *, remote: str = PROXY) -> str | None:
    headers = {} if forwarded_for is None else {"HTTP_X_FORWARDED_FOR": forwarded_for}
    return request_client_ip(RequestFactory().get("/", REMOTE_ADDR=remote, **headers))


@pytest.mark.parametrize("forwarded_for", [None, "", "203.0.113.7", "198.51.100.1, 203.0.113.7"])
def test_without_trusted_proxies_the_header_is_ignored(settings, forwarded_for):
    settings.CIVICGRID_TRUSTED_PROXIES = 0
    assert _resolve(forwarded_for) == PROXY


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (1, "203.0.113.7", "203.0.113.7"),
        (1, "198.51.100.1, 203.0.113.7", "203.0.113.7"),  # the left entry is the client's own claim
        (1, " 198.51.100.1 ,\t203.0.113.7 ", "203.0.113.7"),
        (1, "198.51.100.1,,203.0.113.7", "203.0.113.7"),  # nginx after a client header ending in a comma
        (2, "203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (2, "198.51.100.1, 203.0.113.7, 10.0.0.1", "203.0.113.7"),
        (1, "2001:DB8::7", "2001:db8::7"),
        (1, "::ffff:203.0.113.7", "203.0.113.7"),  # dual-stack socket: one key per client
        # Fewer entries than proxies: the request skipped a proxy; only REMOTE_ADDR is known.
        (1, None, PROXY),
        (1, "", PROXY),
        (2, "203.0.113.7", PROXY),
        (3, "203.0.113.7, 10.0.0.1", PROXY),
        # Not an IP address: fall back.
        (1, "unknown", PROXY),
        (1, "203.0.113.7:51234", PROXY),
        (1, "[2001:db8::7]:443", PROXY),
        (1, "203.0.113.999", PROXY),
        (1, "fe80::1%eth0", PROXY),
        (1, "203.0.113.7, ", PROXY),
        (1, "203.0.113.7 198.51.100.1", PROXY),
        (1, "<script>", PROXY),
        (2, "203.0.113.7, evil, 10.0.0.1", PROXY),  # the second from the right is what counts
    ],
)
def test_behind_proxies_the_nth_entry_from_the_right(settings, proxies, forwarded_for, expected):
    settings.CIVICGRID_TRUSTED_PROXIES = proxies
    assert _resolve(forwarded_for) == expected


@pytest.mark.parametrize("proxies", [0, 1])
def test_an_unknown_address_is_none_not_empty(settings, proxies):
    # A server on a Unix socket sets REMOTE_ADDR to "": None lets axes match its NULL rows (see accounts).
    settings.CIVICGRID_TRUSTED_PROXIES = proxies
    assert _resolve(None, remote="") is None
    request = RequestFactory().get("/")
    del request.META["REMOTE_ADDR"]
    assert request_client_ip(request) is None


def test_behind_a_proxy_on_a_unix_socket_the_forwarded_address_is_used(settings):
    settings.CIVICGRID_TRUSTED_PROXIES = 1
    assert _resolve("203.0.113.7", remote="") == "203.0.113.7"
