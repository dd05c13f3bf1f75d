from django.urls import path

from civicgrid.people import views

app_name = "people"
urlpatterns = [
    path("", views.person_list_view, name="list"),
    path("export.xlsx", views.person_export_view, name="export"),
    path("options/", views.person_options, name="options"),
    path("new/", views.person_create_view, name="create"),
    path("<int:pk>/", views.person_detail, name="detail"),
    path("<int:pk>/unmask/", views.person_unmask_view, name="unmask"),
    path("<int:pk>/edit/", views.person_edit_view, name="edit"),
]
