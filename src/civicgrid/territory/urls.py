from django.urls import path

from civicgrid.territory import views

app_name = "territory"
urlpatterns = [
    path("", views.tree, name="tree"),
    path("nodes/<int:pk>/", views.node_detail, name="node"),
    path("nodes/<int:pk>/children/", views.children, name="children"),
    path("coverage/", views.coverage, name="coverage"),
    path("coverage/export.xlsx", views.coverage_export, name="coverage_export"),
    path("assignments/", views.assignments, name="assignments"),
    path("assignments/new/", views.assignment_create, name="assignment_create"),
    path("assignments/<int:pk>/end/", views.assignment_end, name="assignment_end"),
    path("locate/", views.locate, name="locate"),
]
