from django.urls import path

from plans.api import views

urlpatterns = [
    path("plans", views.PlanListApi.as_view(), name="plan-list"),
    path("plans/<uuid:plan_id>", views.PlanDetailApi.as_view(), name="plan-detail"),
    path(
        "plans/<uuid:plan_id>/payouts",
        views.PlanPayoutListApi.as_view(),
        name="plan-payout-list",
    ),
    path("suggestions", views.SuggestionListApi.as_view(), name="suggestion-list"),
]
