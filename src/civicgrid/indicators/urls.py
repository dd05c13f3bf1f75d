from django.urls import path

from civicgrid.indicators import views

app_name = "indicators"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("indicator/<slug:code>/", views.detail, name="detail"),
    path("export/", views.export, name="export"),
    path("definitions/", views.definitions, name="definitions"),
    path("definitions/new/", views.definition_create, name="definition_create"),
    path("definitions/<slug:code>/", views.definition_edit, name="definition_edit"),
]
