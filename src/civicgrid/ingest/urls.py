from django.urls import path

app_name = "ingest"
urlpatterns: list = []
_ = path
