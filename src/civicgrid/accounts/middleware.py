"""Idle (30 min) and absolute (8 h) session limits (等保 8.1.4.1b; security.md R4)."""

from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

# The stored last-activity time is refreshed at most this often, so a burst of requests (htmx polls,
# page assets) does not rewrite the session row each time. The idle limit is measured from the stored
# time, so it can only end a session up to this much earlier, never later.
ACTIVITY_WRITE_INTERVAL = 60


class SessionTimeoutMiddleware:
    """Log the user out when the session has been idle too long or has lived too long."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now().timestamp()
            last = float(request.session.get("last_activity", now))
            started = float(request.session.get("login_at", now))
            if now - last > settings.SESSION_IDLE_TIMEOUT or now - started > settings.SESSION_COOKIE_AGE:
                logout(request)
                if request.path.startswith("/api/"):
                    return HttpResponse(status=401)
                return redirect_to_login(request.get_full_path())
            if "last_activity" not in request.session or now - last >= ACTIVITY_WRITE_INTERVAL:
                request.session["last_activity"] = now
        return self.get_response(request)
