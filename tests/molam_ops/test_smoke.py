from tests.helpers import post_action


def test_pause_then_resume_bank(pay_admin, bank):
    resp = post_action(
        pay_admin,
        "pause-bank",
        {"bank_profile_id": str(bank.id), "reason": "connector timeouts"},
    )
    assert resp.status_code == 200, resp.json()
    body = resp.json()
    assert body["log"]["status"] == "executed"
    assert body["control"]["active"] is True
    resp = post_action(pay_admin, "resume-bank", {"bank_profile_id": str(bank.id)})
    assert resp.status_code == 200, resp.json()
    assert resp.json()["control"]["active"] is False
