from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path
from drf_spectacular.views import SpectacularSwaggerView

from molam_ops import health, metrics_view
from molam_ops.api import action_urls
from molam_ops.api_root import ApiRootApi
from molam_ops.errors import api_not_found
from molam_ops.schema_views import OpenApiDocumentView
from widgets.api import urls as widget_api
from widgets.asyncapi import AsyncApiDocumentView
from widgets.routing import websocket_urlpatterns

api_ops: list[URLPattern | URLResolver] = [
    # GET /api/ops/: every endpoint below, and the KPI socket
    path("", ApiRootApi.as_view(sockets=websocket_urlpatterns), name="api-root"),
    *action_urls(),
    path("", include("audit.api.urls")),
    path("", include("controls.api.urls")),
    path("", include("payouts.api.urls")),
    path("", include("approvals.api.urls")),
    path("", include("plans.api.urls")),
    path("", include(widget_api.ops_urls)),  # GET /api/ops/me
]

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", metrics_view.metrics, name="metrics"),
    path("api/ops/", include(api_ops)),
    path("api/metrics/", include(widget_api.metrics_urls)),
    path("api/widgets/", include(widget_api.widgets_urls)),
    path("api/schema/", OpenApiDocumentView.as_view(), name="schema"),
    path("api/schema/asyncapi.json", AsyncApiDocumentView.as_view(), name="asyncapi"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("api-auth/", include("rest_framework.urls")),
    path("admin/", admin.site.urls),
    path("", include("widgets.urls")),  # the dashboard, its manifest and worker
    # unmatched /api paths answer the §6 JSON 404 even with DEBUG on
    re_path(r"^api/", api_not_found),
]

handler400 = "molam_ops.errors.handler400"
handler404 = "molam_ops.errors.handler404"
handler500 = "molam_ops.errors.handler500"
