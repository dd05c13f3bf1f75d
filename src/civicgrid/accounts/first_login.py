"""A temporary password issued by an administrator (new account, reset) must be replaced at the
first sign-in: until the user has chosen their own, every page answers with a redirect to the
password change page (security.md R1, 等保 8.1.4.1a). The API answers 403 meanwhile."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse

# Pages a user with a temporary password may still reach: changing it, signing out, the language.
ALLOWED_URL_NAMES = frozenset({"password_change", "password_change_done", "logout", "login", "set_language"})


class ForcePasswordChangeMiddleware:
    """Send a user whose account carries `must_change_password` to the password change page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and getattr(user, "must_change_password", False):
            allowed = {reverse(name) for name in ALLOWED_URL_NAMES}
            if request.path not in allowed and not request.path.startswith("/static/"):
                if request.path.startswith("/api/"):
                    return JsonResponse({"detail": "password change required"}, status=403)
                return redirect("password_change")
        return self.get_response(request)
