"""Mounted at /bench/ only when ``BENCH_ENDPOINTS=1`` (molam_ops/urls.py)."""

from django.urls import path

from bench.views import BareConstantApi, BareInsertApi

urlpatterns = [
    path("insert", BareInsertApi.as_view(), name="bench-insert"),
    path("constant", BareConstantApi.as_view(), name="bench-constant"),
]
