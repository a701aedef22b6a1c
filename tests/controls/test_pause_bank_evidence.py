"""pause_bank as the circuit breaker uses it: the ``system`` role may pause
(never resume), and the optional ``evidence`` object lands in the audit row."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from audit.models import OpsActionLog
from molam_ops.actions import runner
from molam_ops.errors import OpsError
from molam_ops.identity import system_principal
from tests.helpers import assert_error, post_action

pytestmark = pytest.mark.django_db


def test_system_pauses_with_evidence(bank: Any) -> None:
    evidence = {"trigger": "failure_rate", "failure_rate": "0.6000", "window_size": 20}
    body = {"bank_profile_id": str(bank.id), "reason": "breaker", "evidence": evidence}

    result = runner.run("pause_bank", system_principal("circuit-breaker"), body)

    assert result.status == 200
    row = OpsActionLog.objects.get(action_type="pause_bank")
    assert (row.actor_id, row.actor_role) == ("circuit-breaker", "system")
    assert row.details["evidence"] == evidence


def test_system_cannot_resume(bank: Any) -> None:
    with pytest.raises(OpsError) as refused:
        runner.run(
            "resume_bank",
            system_principal("circuit-breaker"),
            {"bank_profile_id": str(bank.id)},
        )
    assert refused.value.code == "forbidden"


def test_a_token_cannot_claim_the_system_role(client_for: Any, bank: Any) -> None:
    client = client_for("system", sub="mallory")
    body = {"bank_profile_id": str(bank.id), "reason": "x"}
    assert_error(post_action(client, "pause-bank", body), 403, "forbidden")


def test_a_person_may_attach_evidence_too(pay_admin: APIClient, bank: Any) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "x", "evidence": {"ticket": 42}}
    assert post_action(pay_admin, "pause-bank", body).status_code == 200
    assert OpsActionLog.objects.get().details["evidence"] == {"ticket": 42}


@pytest.mark.parametrize("evidence", ["text", ["a"], 3])
def test_evidence_must_be_an_object(
    pay_admin: APIClient, bank: Any, evidence: Any
) -> None:
    body = {"bank_profile_id": str(bank.id), "reason": "x", "evidence": evidence}
    error = assert_error(
        post_action(pay_admin, "pause-bank", body), 400, "validation_error"
    )
    assert set(error["fields"]) == {"evidence"}
