"""Stored human text per language (django-modeltranslation): bank names and
control descriptions."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import translation

from controls.models import TreasuryControl
from tests.factories import BankProfileFactory
from tests.helpers import post_action
from widgets.selectors import kpi_summary

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english() -> Any:
    # requests of earlier tests may leave another language active
    with translation.override("en"):
        yield


def test_bank_names_per_language() -> None:
    bank = BankProfileFactory(name="Central Bank of West Africa")
    assert bank.name_en == "Central Bank of West Africa"
    bank.name_fr = "Banque centrale d'Afrique de l'Ouest"
    bank.save()
    (row,) = kpi_summary()["banks"]
    assert row["names"] == {
        "en": "Central Bank of West Africa",
        "fr": "Banque centrale d'Afrique de l'Ouest",
    }
    with translation.override("fr"):
        assert bank.name == "Banque centrale d'Afrique de l'Ouest"
    # an untranslated name falls back to English
    other = BankProfileFactory(name="Equity Bank")
    with translation.override("fr"):
        other.refresh_from_db()
        assert other.name == "Equity Bank"


def test_control_description_is_translatable(pay_admin: Any, bank: Any) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "timeouts"}
    assert post_action(pay_admin, "pause-bank", body).status_code == 200
    control = TreasuryControl.objects.get(key=f"pause_bank_{bank.id}")
    assert control.description_en.startswith("Bank ")
    control.description_fr = "Banque en pause : délais dépassés"
    control.save()
    with translation.override("fr"):
        control.refresh_from_db()
        assert control.description == "Banque en pause : délais dépassés"
