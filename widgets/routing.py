from django.urls import path

from widgets.consumers import KpiConsumer

websocket_urlpatterns = [
    path("ws/kpis/", KpiConsumer.as_asgi(), name="kpi-socket"),
]
