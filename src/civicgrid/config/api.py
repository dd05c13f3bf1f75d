"""The OpenAPI-described REST API. Session authentication with CSRF; every handler is scoped.

Errors have one shape, `{"detail": ...}`: 401 not signed in, 403 the role lacks the action (or CSRF
failed), 404 missing or outside the data scope (the same answer), 400 a business rule refused the
request (ApplicationError, message shown as is), 422 malformed input."""

from typing import Any

from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from ninja import NinjaAPI
from ninja.security import django_auth

from civicgrid.cases.api import router as cases_router
from civicgrid.core.errors import ApplicationError
from civicgrid.ingest.api import router as ingest_router
from civicgrid.people.api import router as people_router
from civicgrid.territory.api import router as territory_router

# Every operation can answer with these; documenting them once keeps the schema truthful (R30).
ERROR_RESPONSES = {
    400: gettext_lazy("业务规则拒绝"),
    401: gettext_lazy("未登录"),
    403: gettext_lazy("无权执行该操作或 CSRF 校验失败"),
    404: gettext_lazy("不存在或不在数据范围内"),
    422: gettext_lazy("输入格式不正确"),
}
ERROR_SCHEMA = {
    "title": "Error",
    "type": "object",
    "properties": {"detail": {"title": "Detail"}},
    "required": ["detail"],
}


def _translated(node: Any) -> Any:
    """The schema with every summary and description run through gettext: the routers mark them with
    gettext_noop (ninja and pydantic want str), so the schema is rendered in the reader's language."""
    if isinstance(node, dict):
        return {
            key: _(value) if key in ("summary", "description") and isinstance(value, str) and value else _translated(value)
            for key, value in node.items()
        }
    if isinstance(node, list):
        return [_translated(item) for item in node]
    return node


class CivicgridAPI(NinjaAPI):
    """NinjaAPI whose OpenAPI schema lists the shared error answers on every operation, in the
    reader's language."""

    def get_openapi_schema(self, *args: Any, **kwargs: Any) -> Any:
        schema = _translated(super().get_openapi_schema(*args, **kwargs))
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = ERROR_SCHEMA
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_RESPONSES.items():
                    if status not in responses and str(status) not in responses:
                        responses[status] = {
                            "description": str(description),
                            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                        }
        return schema


api = CivicgridAPI(
    title="civicgrid API",
    version="1",
    description=gettext_noop("网格化治理平台接口：网格、包干责任、人员库。所有列表与详情均按数据范围过滤。"),
    auth=django_auth,
    urls_namespace="api",
)


@api.exception_handler(ApplicationError)
def application_error(request: HttpRequest, exc: ApplicationError) -> HttpResponse:
    return api.create_response(request, {"detail": exc.message}, status=400)


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": _("无权执行该操作。")}, status=403)


@api.exception_handler(PermissionError)
def permission_error(request: HttpRequest, exc: PermissionError) -> HttpResponse:
    return api.create_response(request, {"detail": _("无权执行该操作。")}, status=403)


api.add_router("/territory", territory_router)
api.add_router("/people", people_router)

api.add_router("/imports/", ingest_router)  # the import framework's (civicgrid.ingest.api)
api.add_router("/cases/", cases_router)  # standards, inspections and the rectification loop (civicgrid.cases.api)
api.add_router("/indicators/", "civicgrid.indicators.api.router")  # indicators and dashboards

urlpatterns = [path("", api.urls)]
