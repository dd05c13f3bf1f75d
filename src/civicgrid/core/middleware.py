"""Request-level cross-cutting behaviour: remember the client address; never cache pages with data."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from civicgrid.core.context import client_ip, request_client_ip


class RequestContextMiddleware:
    """Make the client address (core.context.request_client_ip) available to the audit trail for the
    duration of the request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = client_ip.set(request_client_ip(request))
        try:
            return self.get_response(request)
        finally:
            client_ip.reset(token)


class NoStoreMiddleware:
    """Pages and API answers for a signed-in user may carry personal information: forbid caching (R22)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            response["Cache-Control"] = "no-store, private"
            response["Pragma"] = "no-cache"
        return response
