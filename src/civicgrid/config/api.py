"""The OpenAPI-described REST API. Session authentication with CSRF; every handler is scoped."""

from django.urls import path
from ninja import NinjaAPI
from ninja.security import django_auth

api = NinjaAPI(
    title="civicgrid API",
    version="1",
    description="网格化治理平台接口：网格、包干责任、人员库。所有列表与详情均按数据范围过滤。",
    auth=django_auth,
    urls_namespace="api",
)

urlpatterns = [path("", api.urls)]
