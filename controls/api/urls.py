from django.urls import path

from controls.api import flags, views

urlpatterns = [
    path("controls", views.ControlListApi.as_view(), name="control-list"),
    path("banks", views.BankListApi.as_view(), name="bank-list"),
    path("flags", flags.FlagListApi.as_view(), name="flag-list"),
    path("flags/<str:name>", flags.FlagEvaluateApi.as_view(), name="flag-evaluate"),
]
