"""Every named URL pattern of the project, found by walking Django's resolver, with what it declares:
the action its view requires (`required_action`, set by `requires` / `api_requires`), whether it is a
django-ninja API operation (and its HTTP method), and the URL arguments it takes. The security matrix
tests iterate over this, so a page added later is covered without anyone remembering to add it."""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from civicgrid.accounts.roles import Action, Role

MATRIX_FILE = Path(__file__).with_name("security_matrix.yaml")


@dataclass(frozen=True)
class Route:
    name: str  # namespaced URL name, e.g. "people:detail", "api:get_person"
    route: str  # e.g. "people/<int:pk>/"
    args: tuple[str, ...]  # URL keyword arguments
    converters: tuple[str, ...]  # their converter classes, e.g. ("IntConverter",)
    is_api: bool
    api_method: str | None  # for an API operation: the one HTTP method it answers
    required_action: Action | None
    csrf_exempt: bool

    def __str__(self) -> str:
        return self.name


def _ninja_operation(callback: Any, url_name: str) -> Any | None:
    """The django-ninja Operation behind a URL pattern (its PathView sits in the view's closure)."""
    for cell in getattr(callback, "__closure__", None) or ():
        path_view = cell.cell_contents
        operations = getattr(path_view, "operations", None)
        if operations is None:
            continue
        for operation in operations:
            names = {getattr(operation, "url_name", None), operation.view_func.__name__}
            if url_name in names:
                return operation
        if len(operations) == 1:
            return operations[0]
    return None


def _walk(
    resolver: URLResolver, prefix: str, namespace: str | None, args: tuple[tuple[str, str], ...]
) -> list[Route]:
    routes: list[Route] = []
    for pattern in resolver.url_patterns:
        found = getattr(pattern.pattern, "converters", {}) or {}
        here = args + tuple((name, type(converter).__name__) for name, converter in found.items())
        if isinstance(pattern, URLResolver):
            inner = ":".join(part for part in (namespace, pattern.namespace) if part) or None
            routes.extend(_walk(pattern, prefix + str(pattern.pattern), inner, here))
            continue
        assert isinstance(pattern, URLPattern)
        name = f"{namespace}:{pattern.name}" if namespace and pattern.name else (pattern.name or "")
        callback = pattern.callback
        operation = _ninja_operation(callback, pattern.name or "")
        if operation is not None:
            methods = list(operation.methods)
            assert len(methods) == 1, f"{name}: one method per API operation expected, got {methods}"
            action = getattr(operation.view_func, "required_action", None)
            api_method: str | None = methods[0]
        else:
            view_class = getattr(callback, "view_class", None)
            action = getattr(callback, "required_action", None) or getattr(view_class, "required_action", None)
            api_method = None
        routes.append(
            Route(
                name=name,
                route=prefix + str(pattern.pattern),
                args=tuple(name for name, _ in here),
                converters=tuple(converter for _, converter in here),
                is_api=operation is not None,
                api_method=api_method,
                required_action=Action(action) if action else None,
                csrf_exempt=bool(getattr(callback, "csrf_exempt", False)) and operation is None,
            )
        )
    return routes


@cache
def all_routes() -> tuple[Route, ...]:
    """Every URL pattern of the project, in resolver order."""
    return tuple(_walk(get_resolver(), "/", None, ()))


@dataclass(frozen=True)
class Entry:
    """One row of security_matrix.yaml."""

    action: Action
    allow: frozenset[str]
    method: str = "GET"
    object: str | None = None
    ok: int = 200
    query: dict[str, Any] = field(default_factory=dict)
    body: dict[str, Any] | None = None
    kwargs: dict[str, Any] | None = None  # explicit URL arguments (may hold placeholders)
    form: dict[str, Any] | None = None  # multipart form fields (with `files`)
    files: dict[str, dict[str, str]] | None = None  # field -> {name, content}: a multipart upload
    denied_in: int = 403  # in scope, for a role that passes the view's gate but is not in `allow`
    unscoped: bool = False  # read across all scopes by design (the audit trail)

    @property
    def placeholders(self) -> set[str]:
        text = json.dumps([self.query, self.body, self.kwargs, self.form, self.files])
        return set(re.findall(r'"\{(\w+)\}"', text))

    @property
    def scoped(self) -> bool:
        """Whether the request names an object, so that an out-of-scope variant exists."""
        return self.object is not None or bool(self.placeholders)


@dataclass(frozen=True)
class Matrix:
    public: frozenset[str]
    signed_in: frozenset[str]
    routes: dict[str, Entry]


@cache
def matrix() -> Matrix:
    """security_matrix.yaml, parsed and checked for unknown roles and actions."""
    data = yaml.safe_load(MATRIX_FILE.read_text(encoding="utf-8"))
    roles = {role.value for role in Role}
    entries: dict[str, Entry] = {}
    for name, raw in data["routes"].items():
        allow = frozenset(raw["allow"])
        assert allow <= roles, f"{name}: unknown roles {sorted(allow - roles)}"
        entries[name] = Entry(
            action=Action(raw["action"]),
            allow=allow,
            method=raw.get("method", "GET"),
            object=raw.get("object"),
            ok=int(raw.get("ok", 200)),
            query=dict(raw.get("query") or {}),
            body=raw.get("body"),
            kwargs=raw.get("kwargs"),
            form=raw.get("form"),
            files=raw.get("files"),
            denied_in=int(raw.get("denied_in", 403)),
            unscoped=bool(raw.get("unscoped", False)),
        )
    return Matrix(frozenset(data["public"]), frozenset(data["signed_in"]), entries)


def fill(value: Any, objects: dict[str, int]) -> Any:
    """Replace "{kind}" placeholders in a query/body with object ids."""
    if isinstance(value, dict):
        return {key: fill(item, objects) for key, item in value.items()}
    if isinstance(value, list):
        return [fill(item, objects) for item in value]
    if isinstance(value, str) and value.startswith("{") and value.endswith("}") and value[1:-1] in objects:
        return objects[value[1:-1]]
    return value


SAMPLE_VALUES = {
    "IntConverter": 1, "StringConverter": "x", "SlugConverter": "x", "PathConverter": "x",
    "UUIDConverter": uuid.UUID(int=1),
}


def url_for(route: Route, ids: dict[str, Any] | None = None) -> str:
    """The path of a route: URL arguments from the matrix entry (`kwargs`, or every argument set to the
    id of its `object`), else a sample value per converter (routes not yet in the matrix)."""
    if not route.args:
        return reverse(route.name)
    entry = matrix().routes.get(route.name)
    ids = ids or {}
    if entry is not None and entry.kwargs is not None:
        return reverse(route.name, kwargs=fill(entry.kwargs, ids))
    if entry is not None and entry.object is not None and entry.object in ids:
        return reverse(route.name, kwargs=dict.fromkeys(route.args, ids[entry.object]))
    samples = {name: SAMPLE_VALUES.get(converter, "1") for name, converter in zip(route.args, route.converters, strict=True)}
    return reverse(route.name, kwargs=samples)
