"""The product's URLs, with the floors of :mod:`benchmarks.floor` at /floor/."""

from django.urls import include, path

from molam_ops.urls import handler400, handler404, handler500

urlpatterns = [
    path("floor/", include("benchmarks.floor.urls")),
    path("", include("molam_ops.urls")),
]

__all__ = ["handler400", "handler404", "handler500", "urlpatterns"]
