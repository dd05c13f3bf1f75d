from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("accounts/manage/", include("civicgrid.accounts.administration.urls")),
    path("accounts/", include("civicgrid.accounts.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("territory/", include("civicgrid.territory.urls")),
    path("people/", include("civicgrid.people.urls")),
    path("imports/", include("civicgrid.ingest.urls")),
    path("cases/", include("civicgrid.cases.urls")),
    path("indicators/", include("civicgrid.indicators.urls")),
    path("api/", include("civicgrid.config.api")),
    path("", include("civicgrid.web.urls")),
]
_ = auth_views
