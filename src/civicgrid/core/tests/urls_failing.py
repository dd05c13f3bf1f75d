"""Test-only URLconf: the real URLs plus a view that fails with an ID number in its exception."""

from django.http import HttpRequest, HttpResponse
from django.urls import include, path

FAILING_ID_NUMBER = "371502198005170019"


def failing_view(request: HttpRequest) -> HttpResponse:
    raise ValueError(f"could not match person {FAILING_ID_NUMBER} / 13812345678")


urlpatterns = [
    path("boom/", failing_view),
    path("", include("civicgrid.config.urls")),
]
