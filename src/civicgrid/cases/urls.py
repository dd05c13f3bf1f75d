from django.urls import path

from civicgrid.cases import views

app_name = "cases"
urlpatterns = [
    path("", views.my_cases, name="my"),
    path("area/", views.area_cases, name="area"),
    path("overdue/", views.overdue_cases, name="overdue"),
    path("triage/", views.triage_cases, name="triage"),
    path("export.xlsx", views.export, name="export"),
    path("bulk-assign/", views.bulk_assign, name="bulk_assign"),
    path("new/", views.case_create, name="create"),
    path("<int:pk>/", views.case_detail, name="detail"),
    path("<int:pk>/start/", views.case_start, name="start"),
    path("<int:pk>/submit/", views.case_submit, name="submit"),
    path("<int:pk>/verify/", views.case_verify, name="verify"),
    path("<int:pk>/reject/", views.case_reject, name="reject"),
    path("<int:pk>/assign/", views.case_assign, name="assign"),
    path("<int:pk>/cancel/", views.case_cancel, name="cancel"),
    path("evidence/<int:pk>/", views.evidence, name="evidence"),
    path("inspections/", views.inspection_list, name="inspections"),
    path("inspections/new/", views.inspection_create, name="inspection_create"),
    path("inspections/<int:pk>/", views.inspection_detail, name="inspection"),
    path("inspections/<int:pk>/record/", views.inspection_record, name="inspection_record"),
    path("inspections/<int:pk>/complete/", views.inspection_complete, name="inspection_complete"),
    path("standards/", views.standard_list, name="standards"),
    path("standards/import/", views.standard_import, name="standard_import"),
    path("standards/<str:code>/v<int:number>/", views.standard_version, name="standard_version"),
    path("standards/<str:code>/v<int:number>/export.xlsx", views.standard_export, name="standard_export"),
    path("standards/<str:code>/v<int:number>/publish/", views.standard_publish, name="standard_publish"),
    path("standards/<str:code>/v<int:number>/copy/", views.standard_copy, name="standard_copy"),
]
