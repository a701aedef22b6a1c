from django.urls import path

from plans.api import views

urlpatterns = [
    path("plans", views.PlanListApi.as_view(), name="plan-list"),
    path("plans/<uuid:plan_id>", views.PlanDetailApi.as_view(), name="plan-detail"),
    path("suggestions", views.SuggestionListApi.as_view(), name="suggestion-list"),
]
