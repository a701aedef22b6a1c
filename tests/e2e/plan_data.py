"""Plans as the browser tests hand them to the plan panel."""

from __future__ import annotations

import uuid
from typing import Any


def carried(bank_ids: list[str]) -> dict[str, Any]:
    """A plan as recorded once it carries its preview and per-step progress
    (what the server adds to each plan): a reroute that moved 18 of its 26
    payouts, and the banks' figures before and after."""
    src, dst = bank_ids[:2]
    return {
        "id": str(uuid.uuid4()),
        "plan_type": "routing_optimization",
        "status": "executed",
        "summary": "",
        "currency": "USD",
        "total_amount": "1234.56",
        "payout_count": 26,
        "approval_required": False,
        "steps": [
            {
                "action": "reroute_payouts",
                "from_bank_id": src,
                "to_bank_id": dst,
                "currency": "XOF",
                "count": 26,
                "amount": "1234567",
            }
        ],
        "details": {
            "done": 1,
            "total": 1,
            "steps": [{"index": 0, "status": "done"}],
            "progress": {
                "done": 1,
                "total": 1,
                "steps": [
                    {
                        "index": 0,
                        "action": "reroute_payouts",
                        "status": "done",
                        "expected": 26,
                        "moved": 18,
                        "reasons": {"not_pending": 5, "currency_not_served": 3},
                    }
                ],
            },
            "preview": {
                "rows": [
                    {
                        "bank_id": src,
                        "bank_name": "Banque A",
                        "currency": "XOF",
                        "payouts_before": 40,
                        "payouts_after": 14,
                        "amount_before": "2000000",
                        "amount_after": "765433",
                        "fees_before": "16000",
                        "fees_after": "6123",
                        "balance_before": None,
                        "balance_after": None,
                    },
                    {
                        "bank_id": dst,
                        "bank_name": "Banque B",
                        "currency": "XAF",
                        "payouts_before": 2,
                        "payouts_after": 28,
                        "amount_before": "1000",
                        "amount_after": "1235567",
                        "fees_before": "10",
                        "fees_after": "8000",
                        "balance_before": "5000000",
                        "balance_after": "3764433",
                    },
                ],
                "totals": {
                    "payouts_moved": 26,
                    "amount_moved_usd": "1234.56",
                    "fees_before_usd": "40.10",
                    "fees_after_usd": "23.45",
                    "funds_moved_usd": "0",
                    "banks_paused": 0,
                },
                "payouts_url": "/api/ops/plans/x/payouts",
            },
        },
    }
