from django.urls import path

from civicgrid.accounts.administration import views

app_name = "accounts"
urlpatterns = [
    path("", views.account_list_view, name="list"),
    path("create/", views.account_create_view, name="create"),
    path("users/<str:username>/", views.account_detail_view, name="detail"),
    path("users/<str:username>/edit/", views.account_edit_view, name="edit"),
    path("users/<str:username>/grants/add/", views.account_grant_add_view, name="grant_add"),
    path("users/<str:username>/grants/remove/", views.account_grant_remove_view, name="grant_remove"),
    path("users/<str:username>/deactivate/", views.account_deactivate_view, name="deactivate"),
    path("users/<str:username>/reactivate/", views.account_reactivate_view, name="reactivate"),
    path("users/<str:username>/unlock/", views.account_unlock_view, name="unlock"),
    path("users/<str:username>/reset-password/", views.account_reset_password_view, name="reset_password"),
    path("users/<str:username>/person/", views.account_person_view, name="person"),
]
