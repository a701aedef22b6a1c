"""Approvals say what they approve: one sentence in the reader's language with
the initiator, the action, the target by name, the amount with its currency
and the USD equivalent the thresholds counted, the reason and the deadline;
the approvers' mail carries it, the signatures so far and a dashboard link,
and is sent by a worker task."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core import mail
from rest_framework.test import APIClient

from tests.factories import BankProfileFactory, PayoutFactory, TreasuryAccountFactory
from tests.helpers import bearer_client, post_action, sign
from tests.payouts.helpers import seed_rates
from tests.plans.test_execute_plan_support import make_plan, open_plan_approval

pytestmark = pytest.mark.django_db


def summary_of(client: Any, approval_id: str) -> str:
    resp = client.get(f"/api/ops/approvals/{approval_id}")
    return str(resp.json()["approval"]["summary"])


@pytest.fixture
def french_reader(make_token: Any) -> APIClient:
    """fatou, whose Molam ID token says she reads French."""
    return bearer_client(make_token(sub="fatou", roles=["finance_ops"], lang="fr"))


@pytest.fixture
def transfer_request(client_for: Any) -> str:
    seed_rates()  # XOF at 0.00165 USD
    source = TreasuryAccountFactory(
        bank_profile=BankProfileFactory(name="Ecobank CI"),
        name="Ecobank float",
        currency="XOF",
        balance=Decimal("50000000"),
    )
    destination = TreasuryAccountFactory(
        bank_profile=BankProfileFactory(name="SGBCI"),
        name="SGBCI float",
        currency="XOF",
    )
    resp = post_action(
        client_for("pay_admin", sub="alice"),
        "transfer-funds",
        {
            "from_account_id": str(source.id),
            "to_account_id": str(destination.id),
            "amount": "9000000.00",
            "reason": "float top-up",
        },
    )
    assert resp.status_code == 202, resp.json()
    return str(resp.json()["approval"]["id"])


def test_a_transfer_names_accounts_amount_usd_reason_deadline(
    transfer_request: str, pay_admin: Any
) -> None:
    text = summary_of(pay_admin, transfer_request)
    assert text.startswith(
        "alice asks to transfer funds from Ecobank float (XOF) to SGBCI float (XOF)"
        " — 9,000,000.00 XOF (14,850.00 USD counted against the thresholds)"
        " — reason: “float top-up” — "
    ), text
    assert "0 of 2 signatures — until " in text and text.endswith(" UTC.")


def test_the_same_request_reads_in_french(
    transfer_request: str, french_reader: APIClient
) -> None:
    text = summary_of(french_reader, transfer_request)
    assert text.startswith(
        "alice demande : transférer des fonds de Ecobank float (XOF) vers "
        "SGBCI float (XOF) — 9\u202f000\u202f000,00 XOF ("
    ) or text.startswith(
        "alice demande : transférer des fonds de Ecobank float (XOF) vers "
        "SGBCI float (XOF) — 9\xa0000\xa0000,00 XOF ("
    ), text
    assert "USD comptés pour les seuils) — motif : « float top-up » — " in text
    assert "0 signature(s) sur 2 — jusqu\u2019au " in text


def test_a_payout_retry_names_the_payout_and_its_bank(client_for: Any) -> None:
    payout = PayoutFactory(
        bank_profile=BankProfileFactory(name="BICIS"),
        status="failed",
        amount=Decimal("25000.00"),
        currency="USD",
    )
    ops = client_for("ops", sub="chloe")
    resp = post_action(ops, "retry-payout", {"payout_id": str(payout.id)})
    assert resp.status_code == 202, resp.json()
    text = resp.json()["approval"]["summary"]
    assert text.startswith(
        f"chloe asks to retry payout {payout.id} to BICIS — 25,000.00 USD — "
    ), text


def test_a_plan_execution_names_the_plan_and_its_type(
    pay_admin: Any, french_reader: APIClient
) -> None:
    plan = make_plan(total_amount=Decimal("20000"), payout_count=1200)
    approval = open_plan_approval(plan)
    en = summary_of(pay_admin, approval["id"])
    fr = summary_of(french_reader, approval["id"])
    short = str(plan.id)[:8]
    assert en.startswith(
        f"alice asks to execute plan {short} (float rebalance: 0 steps, "
        "1200 payouts) — 20,000.00 USD — 0 of 2 signatures"
    ), en
    assert fr.startswith(
        f"alice demande : exécuter le plan {short} (rééquilibrage de la trésorerie"
    ), fr


def test_the_mail_goes_through_a_task_with_the_sentence_and_a_link(
    approver_users: Any,
    client_for: Any,
    django_capture_on_commit_callbacks: Any,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from approvals import tasks

    settings.PUBLIC_BASE_URL = "https://ops.molam.example"
    queued: list[str] = []
    # the broker's side: tasks run inline in tests, so record what was queued
    monkeypatch.setattr(tasks.notify_approvers, "delay", queued.append)
    with django_capture_on_commit_callbacks(execute=True):
        resp = post_action(
            client_for("pay_admin", sub="alice"),
            "freeze-payouts",
            {"scope": "global", "reason": "incident 42"},
        )
    monkeypatch.undo()
    approval_id = resp.json()["approval"]["id"]
    # the request only queued the task; nothing was sent in it
    assert queued == [approval_id] and mail.outbox == []

    tasks.notify_approvers(approval_id)  # what the worker runs

    assert sorted(r for m in mail.outbox for r in m.to) == [
        "amadou@molam.test",
        "bruno@molam.test",
    ]
    message = mail.outbox[0]
    assert message.subject == "[Molam Ops] Signature needed: freeze all payouts"
    assert f"https://ops.molam.example/?approval={approval_id}" in message.body
    assert "0 of 2 signatures" in message.body


def test_after_a_signature_the_others_hear_how_far_it_got(
    approver_users: Any, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    resp = post_action(
        client_for("pay_admin", sub="alice"),
        "freeze-payouts",
        {"scope": "global", "reason": "incident 42"},
    )
    approval_id = resp.json()["approval"]["id"]
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        sign(client_for("finance_ops", sub="bruno"), approval_id)

    # 2 are needed and one is in: amadou (not alice, not bruno) hears of it
    assert [r for m in mail.outbox for r in m.to] == ["amadou@molam.test"]
    assert "1 of 2 signatures, by bruno" in mail.outbox[0].body
