"""Suggestion texts per UI language (issue 5, django-modeltranslation): the
local heuristics store every language from the catalogues, SIRA's text is the
default language's and the others fall back to it, and the API answers in the
caller's language, whichever language refreshed the suggestions."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.utils import translation
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from plans.models import Suggestion
from plans.services import suggestion_refresh
from tests.factories import BankProfileFactory
from tests.helpers import bearer_client
from tests.plans.plan_helpers import rails
from tests.plans.sira_helpers import running


@pytest.fixture(autouse=True)
def _fresh(settings: Any) -> Any:
    settings.SIRA_URL = ""
    settings.SIRA_TIMEOUT_SECONDS = 0.5
    settings.SIRA_BACKOFF_SECONDS = 0.01
    # requests leave their language active; each test starts in English
    with translation.override("en"):
        yield


def listed(client: APIClient, lang: str) -> list[dict[str, Any]]:
    """What the list shows after beat's next refresh."""
    suggestion_refresh.refresh()
    resp = client.get("/api/ops/suggestions", HTTP_ACCEPT_LANGUAGE=lang)
    assert resp.status_code == 200, resp.content
    assert resp["Content-Language"] == lang
    return resp.json()["results"]


@pytest.fixture
def ops(make_token: Any) -> APIClient:
    # no ``lang`` claim, no saved preference: Accept-Language decides
    return bearer_client(make_token(sub="chloe", roles=["ops"], lang=""))


def refreshes() -> int:
    return OpsActionLog.objects.filter(action_type="update_suggestions").count()


@pytest.fixture
def failing(db: None) -> Any:
    bank = BankProfileFactory(name="Fragile Bank", success_rate=Decimal("0.8800"))
    bank.name_fr = "Banque Fragile"
    bank.save()
    return bank


def test_heuristic_texts_are_stored_in_every_language(
    failing: Any, ops: APIClient
) -> None:
    # refreshed by a French request: English is stored all the same
    (fr,) = listed(ops, "fr")
    assert fr["title"] == "Mettre en pause la banque Banque Fragile : taux d'échec 12 %"
    assert fr["description"].startswith("Banque Fragile réussit 88 % des paiements")
    stored = Suggestion.objects.get(pk=fr["id"])
    assert stored.title_en == "Pause bank Fragile Bank: failure rate 12%"
    assert stored.title_fr == fr["title"]
    assert stored.description_en.startswith("Fragile Bank succeeds on 88%")
    # the action's reason is audited text: the default language, not the
    # refreshing request's
    assert stored.payload["reason"] == "Suggested: failure rate 12%"

    (en,) = listed(ops, "en")
    assert en["id"] == fr["id"]
    assert en["title"] == "Pause bank Fragile Bank: failure rate 12%"
    # another language asking is not a change: no rewrite, no new audit row
    assert refreshes() == 1


def test_planner_suggestion_is_described_in_each_language(
    db: None, ops: APIClient
) -> None:
    rails()
    (en,) = listed(ops, "en")
    (fr,) = listed(ops, "fr")
    assert en["title"] == "Reroute pending payouts to cheaper banks (XOF)"
    assert fr["title"] == (
        "Rediriger les paiements en attente vers des banques moins chères (XOF)"
    )
    assert en["description"].startswith("The local planner reroutes 4 pending")
    assert fr["description"].startswith("Le planificateur local redirige 4 paiement")
    # French number formatting: a decimal comma
    assert "," in fr["description"].split("valeur de ")[1].split(" USD")[0]
    assert refreshes() == 1


def test_sira_text_is_the_default_language_and_others_fall_back(
    failing: Any, ops: APIClient, settings: Any
) -> None:
    with running() as server:
        settings.SIRA_URL = server.url
        (en,) = listed(ops, "en")
        (fr,) = listed(ops, "fr")
    stored = Suggestion.objects.get(pk=en["id"])
    assert stored.source == "sira"
    assert stored.title_en == "Optimise routing of pending payouts"
    assert stored.title_fr is None
    assert fr["title"] == en["title"] == "Optimise routing of pending payouts"
    assert refreshes() == 1


def test_a_translation_added_later_is_shown(failing: Any, ops: APIClient) -> None:
    (item,) = listed(ops, "en")
    stored = Suggestion.objects.get(pk=item["id"])
    # a row written before the migration holds English only (copied to _en)
    Suggestion.objects.filter(pk=stored.pk).update(title_fr=None)
    stored.refresh_from_db()
    with translation.override("fr"):
        assert stored.title == "Pause bank Fragile Bank: failure rate 12%"
    # the next refresh sees the missing language and writes it
    (fr,) = listed(ops, "fr")
    assert fr["title"].startswith("Mettre en pause la banque Banque Fragile")
    assert refreshes() == 2
