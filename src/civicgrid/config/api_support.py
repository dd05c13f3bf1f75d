"""Shared pieces of the API routers. `api_requires` is the API twin of `civicgrid.web.permissions.requires`:
the action an endpoint needs is declared on it (`required_action`, read by the role × endpoint matrix
test) and a role without it gets 403; sign-in itself is the NinjaAPI's `django_auth` (401 when absent).
`page_of` slices a scoped QuerySet for the `?page=&page_size=` list endpoints."""

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja.errors import HttpError

from civicgrid.accounts.roles import Action

F = TypeVar("F", bound=Callable[..., Any])


def api_requires(action: Action) -> Callable[[F], F]:
    """403 unless the signed-in user's role holds `action`. Put it below the router decorator."""

    def decorator(handler: F) -> F:
        @wraps(handler)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
            user = request.user
            if not user.is_authenticated or not user.can(action):
                raise HttpError(403, _("无权执行该操作。"))
            return handler(request, *args, **kwargs)

        wrapped.required_action = action  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


MAX_PAGE_SIZE = 200
# Free-text query parameters: bounded, and no NUL (PostgreSQL refuses it in text; the forms' validator does the same).
SEARCH_PATTERN = r"^[^\x00]*$"


def page_of(queryset: QuerySet[Any], *, page: int, page_size: int) -> tuple[int, list[Any]]:
    """(total count, the rows of one 1-based page); page_size is capped at MAX_PAGE_SIZE."""
    size = max(1, min(page_size, MAX_PAGE_SIZE))
    offset = (max(page, 1) - 1) * size
    count = queryset.count()
    # Past the end there is nothing to fetch (and a huge page number must not reach SQL's OFFSET).
    return count, list(queryset[offset : offset + size]) if offset < count else []
