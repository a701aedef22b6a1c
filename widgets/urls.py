"""Pages and files of the widgets app (mounted at the site root)."""

from django.urls import path

from widgets import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service-worker"),
    path("shell/", views.shell, name="shell"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("widgets/i18n/<str:lang>.json", views.js_catalog, name="widgets-i18n"),
]
