from django.urls import path

from payouts.api import views

urlpatterns = [path("payouts", views.PayoutListApi.as_view(), name="payout-list")]
