"""A plan's summary, rendered for its reader from structured facts.

The planner's and SIRA's ``summary`` is English text written once; a French
reader deserves French, with numbers grouped the French way. So a built plan
stores ``details.summary_facts`` (what it does, in figures with their ISO
currency codes: XOF and XAF share the symbol "CFA", codes do not), and the
API renders :func:`render` in the request's language. A plan built before
these facts existed keeps its stored text.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import formats
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

from plans.choices import PlanType
from plans.services.plan_payouts import Chosen


def facts(
    plan_type: str,
    steps: list[dict[str, Any]],
    preview: dict[str, Any],
    moved: dict[str, Chosen],
) -> dict[str, Any]:
    """What the summary says, as data (``details.summary_facts``)."""
    totals = preview["totals"]
    names = {r["bank_id"]: r["bank_name"] for r in preview["rows"]}
    paused = [
        str(s.get("bank_profile_id")) for s in steps if s.get("action") == "pause_bank"
    ]
    transfers: dict[str, Decimal] = {}
    for s in steps:
        if s.get("action") == "transfer_funds":
            currency = str(s.get("currency") or "")
            transfers[currency] = transfers.get(currency, Decimal(0)) + Decimal(
                str(s.get("amount") or 0)
            )
    return {
        "plan_type": plan_type,
        "steps": len(steps),
        "payouts_moved": totals["payouts_moved"],
        "moved": [
            {"currency": c, "payouts": v.payouts, "amount": str(v.amount)}
            for c, v in sorted(moved.items())
            if v.payouts
        ],
        "amount_moved_usd": totals["amount_moved_usd"],
        "fees_before_usd": totals["fees_before_usd"],
        "fees_after_usd": totals["fees_after_usd"],
        "transfers": [
            {"currency": c, "amount": str(a)} for c, a in sorted(transfers.items())
        ],
        "funds_moved_usd": totals["funds_moved_usd"],
        "banks_paused": [{"bank_id": b, "bank_name": names.get(b, b)} for b in paused],
        "banks": sorted({r["bank_name"] for r in preview["rows"]}),
    }


def number(value: Any, places: int = 2) -> str:
    """Grouped for the reader: ``12,000.50`` / ``12 000,50``."""
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return str(
        formats.number_format(amount, places, use_l10n=True, force_grouping=True)
    )


def money(value: Any, currency: str) -> str:
    return f"{number(value)} {currency}"


def _amounts(items: list[dict[str, Any]]) -> str:
    return ", ".join(money(i["amount"], i["currency"]) for i in items)


def render(f: dict[str, Any]) -> str:
    """The summary in the active language."""
    try:
        kind = _(PlanType(f["plan_type"]).label)
    except ValueError:
        kind = str(f.get("plan_type"))
    parts: list[str] = []
    paused = f.get("banks_paused") or []
    if paused:
        parts.append(
            ngettext(
                "pause %(count)s bank (%(names)s)",
                "pause %(count)s banks (%(names)s)",
                len(paused),
            )
            % {
                "count": number(len(paused), 0),
                "names": ", ".join(p["bank_name"] for p in paused),
            }
        )
    count = int(f.get("payouts_moved") or 0)
    if count:
        parts.append(
            ngettext(
                "reroute %(count)s payout worth %(amounts)s (%(usd)s)",
                "reroute %(count)s payouts worth %(amounts)s (%(usd)s)",
                count,
            )
            % {
                "count": number(count, 0),
                "amounts": _amounts(f.get("moved") or []),
                "usd": money(f.get("amount_moved_usd") or 0, "USD"),
            }
        )
        parts.append(
            _("payout fees %(before)s → %(after)s")
            % {
                "before": money(f.get("fees_before_usd") or 0, "USD"),
                "after": money(f.get("fees_after_usd") or 0, "USD"),
            }
        )
    if f.get("transfers"):
        parts.append(
            _("transfer %(amounts)s between treasury accounts (%(usd)s)")
            % {
                "amounts": _amounts(f["transfers"]),
                "usd": money(f.get("funds_moved_usd") or 0, "USD"),
            }
        )
    if not parts:
        return _("%(kind)s: nothing to change.") % {"kind": _capital(kind)}
    return _("%(kind)s: %(actions)s.") % {
        "kind": _capital(kind),
        # French sets a space before the semicolon
        "actions": pgettext("between the actions of a plan", "; ").join(parts),
    }


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


def text(summary: str, details: dict[str, Any] | None) -> str:
    """What a plan's ``summary`` reads: rendered from its facts when it has
    them, else the text it was stored with."""
    f = (details or {}).get("summary_facts")
    if isinstance(f, dict) and "plan_type" in f:
        return render(f)
    return summary
