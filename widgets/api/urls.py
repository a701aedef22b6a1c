from django.urls import path

from widgets.api import views

metrics_urls = [
    path("summary", views.MetricsSummaryApi.as_view(), name="metrics-summary"),
]

widgets_urls = [
    path(
        "state/<str:widget_type>",
        views.WidgetStateApi.as_view(),
        name="widget-state",
    ),
]

ops_urls = [
    path("me", views.MeApi.as_view(), name="me"),
]
