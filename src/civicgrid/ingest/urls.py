from django.urls import path

from civicgrid.ingest import views

app_name = "ingest"
urlpatterns = [
    path("", views.job_list, name="list"),
    path("<uuid:pk>/", views.job_detail, name="detail"),
    path("<uuid:pk>/progress/", views.job_progress, name="progress"),
    path("<uuid:pk>/report/", views.error_report, name="error_report"),
    path("templates/<str:name>/", views.template, name="template"),
]
