"""The floors, mounted at /floor/ by :mod:`benchmarks.urls`."""

from django.urls import path

from benchmarks.floor.views import BareConstantApi, BareInsertApi

urlpatterns = [
    path("insert", BareInsertApi.as_view(), name="floor-insert"),
    path("constant", BareConstantApi.as_view(), name="floor-constant"),
]
