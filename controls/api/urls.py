from django.urls import path

from controls.api import views

urlpatterns = [
    path("controls", views.ControlListApi.as_view(), name="control-list"),
    path("banks", views.BankListApi.as_view(), name="bank-list"),
]
