"""View decorators: sign-in required and the action the role must hold (permissions are data)."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from civicgrid.accounts.roles import Action


def requires(action: Action) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Sign-in required; 403 unless the user's role holds `action`. The action is kept on the view
    (`required_action`) so the role × URL matrix test can read it."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @login_required
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.can(action):  # type: ignore[union-attr]
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.required_action = action  # type: ignore[attr-defined]
        return wrapped

    return decorator


def querystring_without_page(request: HttpRequest) -> str:
    """The current query string minus `page`, ending with & when not empty (for pagination links)."""
    query = request.GET.copy()
    query.pop("page", None)
    encoded = query.urlencode()
    return f"{encoded}&" if encoded else ""
