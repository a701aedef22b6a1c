"""A global freeze needs two signatures from people other than its initiator."""

from audit.models import OpsActionLog
from controls.models import TreasuryControl
from tests.helpers import post_action


def test_global_freeze_waits_then_executes_at_quorum(db, client_for):
    alice = client_for("pay_admin", sub="alice")
    resp = post_action(
        alice, "freeze-payouts", {"scope": "global", "reason": "incident"}
    )
    assert resp.status_code == 202, resp.json()
    body = resp.json()
    assert body["log"]["status"] == "requested"
    approval = body["approval"]
    assert approval["required_approvals"] == 2
    assert not TreasuryControl.objects.filter(
        key="freeze_global", enabled=True
    ).exists()

    # the initiator cannot sign
    resp = post_action(alice, f"approve/{approval['id']}", {"decision": "approve"})
    assert resp.status_code == 403
    assert resp.json()["error"]["code"] == "initiator_cannot_sign"

    bruno = client_for("finance_ops", sub="bruno")
    resp = post_action(bruno, f"approve/{approval['id']}", {"decision": "approve"})
    assert resp.status_code == 200, resp.json()
    assert resp.json()["approval"]["current_approvals"] == 1
    assert not TreasuryControl.objects.filter(
        key="freeze_global", enabled=True
    ).exists()

    resp = post_action(bruno, f"approve/{approval['id']}", {"decision": "approve"})
    assert resp.status_code == 409
    assert resp.json()["error"]["code"] == "already_signed"

    amadou = client_for("pay_admin", sub="amadou")
    resp = post_action(amadou, f"approve/{approval['id']}", {"decision": "approve"})
    assert resp.status_code == 200, resp.json()
    out = resp.json()
    assert out["approval"]["status"] == "executed"
    assert out["control"]["active"] is True
    assert out["executed_log"]["action_id"] == approval["action_reference"]
    rows = OpsActionLog.objects.filter(action_id=approval["action_reference"])
    assert sorted(rows.values_list("status", flat=True)) == ["executed", "requested"]
