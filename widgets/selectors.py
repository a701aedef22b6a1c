"""Reads for the widgets: the KPI summary and saved widget states.

The summary reads other apps through their selectors and models only (DESIGN
§1: widgets sit on top). It is a handful of aggregate queries whatever the
number of payouts; see :func:`kpi_summary` for which index serves which.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Count, DecimalField, F, Q, Sum, Value
from django.utils import timezone

from approvals.selectors import approval_pending_figures
from controls.keys import FREEZE_GLOBAL
from controls.models import active_q
from controls.selectors import bank_list_with_controls, control_list
from molam_ops.lib.fields import iso_utc
from payouts.choices import PayoutStatus
from payouts.models import Payout, TreasuryAccount
from widgets.choices import WidgetType
from widgets.models import WidgetState

WINDOW = timedelta(hours=24)
OPEN_STATUSES = (PayoutStatus.PENDING, PayoutStatus.PROCESSING, PayoutStatus.FAILED)
DONE_STATUSES = (PayoutStatus.SENT, PayoutStatus.SETTLED)
COUNTED = ("pending", "processing", "failed", "sent_24h", "settled_24h")


def _money(value: Decimal | None) -> str:
    return f"{(value or Decimal(0)).quantize(Decimal('0.01'))}"


def treasury_by_currency() -> list[dict[str, Any]]:
    """Balance and float per currency (one GROUP BY over the accounts).

    ``float`` is the minimum float the accounts must keep (sum of
    ``min_float``); ``headroom`` is what stands above it, and
    ``accounts_below_float`` counts the accounts under their minimum.
    """
    rows = (
        TreasuryAccount.objects.values("currency")
        .annotate(
            total_balance=Sum("balance"),
            total_float=Sum("min_float"),
            accounts=Count("id"),
            below=Count("id", filter=Q(balance__lt=F("min_float"))),
        )
        .order_by("currency")
    )
    return [
        {
            "currency": r["currency"],
            "balance": _money(r["total_balance"]),
            "float": _money(r["total_float"]),
            "headroom": _money((r["total_balance"] or 0) - (r["total_float"] or 0)),
            "accounts": r["accounts"],
            "accounts_below_float": r["below"],
        }
        for r in rows
    ]


def payout_figures(now: datetime) -> dict[str, Any]:
    """Pending, processing, failed, sent and settled in the last 24 h, by
    currency, in one query: a UNION ALL of two grouped counts.

    Each half reads only the rows that can count, from its own partial index
    (payouts migration 0005): the open statuses (pending, processing, failed)
    from ``payout_open_kpi`` and the sent/settled of the last 24 h from
    ``payout_done_kpi``, which carries currency and amount so neither half
    visits the table (index-only scans). The settled history, most of a mature
    table, is never read. One query with an OR over both sets could use only a
    bitmap scan, which reads the table: ~45 ms instead of ~5 at 1M payouts.
    There is no ``sent_at`` column: "sent in 24 h"
    counts payouts sent or settled whose last change is within 24 h.
    """
    since = now - WINDOW
    open_rows = (
        Payout.objects.filter(status__in=OPEN_STATUSES)
        .values("status", "currency")
        .annotate(n=Count("*"), total=Value(None, output_field=DecimalField()))
        .order_by()
    )
    recent_rows = (
        Payout.objects.filter(status__in=DONE_STATUSES, updated_at__gte=since)
        .values("status", "currency")
        .annotate(n=Count("*"), total=Sum("amount"))
        .order_by()
    )
    figures: dict[str, dict[str, Any]] = {}
    for r in open_rows.union(recent_rows, all=True):
        f = figures.setdefault(
            r["currency"], {**dict.fromkeys(COUNTED, 0), "amount": Decimal(0)}
        )
        if r["status"] in OPEN_STATUSES:
            f[r["status"]] += r["n"]
            continue
        f["sent_24h"] += r["n"]  # "sent" counts what was sent and then settled
        if r["status"] == PayoutStatus.SETTLED:
            f["settled_24h"] += r["n"]
            f["amount"] += r["total"] or Decimal(0)
    by_currency = [
        {"currency": cur, **{k: f[k] for k in COUNTED}}
        | {"settled_amount_24h": _money(f["amount"])}
        for cur, f in sorted(figures.items())
    ]
    totals = {k: sum(r[k] for r in by_currency) for k in COUNTED}
    return {
        **totals,
        "settled_amount_24h": [
            {"currency": r["currency"], "amount": r["settled_amount_24h"]}
            for r in by_currency
            if r["settled_24h"]
        ],
        "by_currency": by_currency,
    }


def _names(bank: Any) -> dict[str, str]:
    """The bank's display name in every UI language (modeltranslation fields,
    falling back to the stored name), so one summary serves every reader."""
    return {
        code: getattr(bank, f"name_{code}", None) or bank.name
        for code, _label in settings.LANGUAGES
    }


def bank_health(now: datetime) -> list[dict[str, Any]]:
    return [
        {
            "id": str(view.bank.id),
            "code": view.bank.code,
            "name": view.bank.name,
            "names": _names(view.bank),
            "status": view.bank.status,
            "circuit_state": view.bank.circuit_state,
            "paused": view.paused,
            "frozen": view.frozen,
            "freeze_scope": view.freeze_scope,
            "success_rate": str(view.bank.success_rate),
            "avg_latency_ms": view.bank.avg_latency_ms,
            "currencies": list(view.bank.currencies),
            "last_health_check_at": iso_utc(view.bank.last_health_check_at),
        }
        for view in bank_list_with_controls(now)
    ]


def active_freezes(now: datetime) -> dict[str, Any]:
    rows = control_list().filter(
        active_q(now), Q(key=FREEZE_GLOBAL) | Q(key__startswith="freeze_bank_")
    )
    active = [
        {
            "key": c.key,
            "scope": "global" if c.key == FREEZE_GLOBAL else "bank",
            "bank_profile_id": (c.value or {}).get("bank_profile_id"),
            "reason": (c.value or {}).get("reason", ""),
            "since": iso_utc(c.updated_at),
            "expires_at": iso_utc(c.expires_at),
        }
        for c in rows
    ]
    return {
        "global": any(f["scope"] == "global" for f in active),
        "count": len(active),
        "active": active,
    }


def open_suggestions() -> dict[str, Any]:
    """Open SIRA suggestions, if the plans app has them (it may not yet)."""
    try:
        from plans import selectors as plan_selectors  # type: ignore[attr-defined]
    except ImportError:
        plan_selectors = None
    counter = getattr(plan_selectors, "suggestion_open_count", None)
    if counter is not None:
        return {"available": True, "open": int(counter())}
    try:
        model = apps.get_model("plans", "Suggestion")
    except LookupError:
        return {"available": False, "open": 0}
    names = {f.name for f in model._meta.get_fields()}
    qs = model.objects.filter(status="open") if "status" in names else model.objects
    return {"available": True, "open": qs.count()}


def kpi_summary(now: datetime | None = None) -> dict[str, Any]:
    """Every KPI of the widgets, computed now (about seven small queries)."""
    now = now or timezone.now()
    return {
        "computed_at": iso_utc(now),
        "treasury": treasury_by_currency(),
        "payouts": payout_figures(now),
        "banks": bank_health(now),
        "freezes": active_freezes(now),
        "approvals": approval_pending_figures(),
        "suggestions": open_suggestions(),
    }


def summary_digest(summary: dict[str, Any]) -> str:
    """What identifies a summary's content (its computing time aside)."""
    body = {k: v for k, v in summary.items() if k != "computed_at"}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def summary_cache_key() -> str:
    # the database name keeps test databases and local servers apart
    return f"widgets:kpis:{connection.settings_dict['NAME']}"


def kpi_summary_cached(max_age: float | None = None) -> dict[str, Any]:
    """The summary, from the shared cache when computed less than ``max_age``
    seconds ago (``KPI_CACHE_SECONDS``, 0: always compute).

    Ops actions drop the cached copy when they commit
    (``widgets.live.publish_summary``), so the cache only hides changes that
    do not go through the runner (the dispatcher's), for at most ``max_age``.
    """
    max_age = settings.KPI_CACHE_SECONDS if max_age is None else max_age
    if max_age <= 0:
        return kpi_summary()
    key = summary_cache_key()
    cached = cache.get(key)
    if cached is not None:
        return cached
    summary = kpi_summary()
    cache.set(key, summary, timeout=max_age)
    return summary


def widget_state_get(*, user: str, widget_type: str) -> WidgetState | None:
    return WidgetState.objects.filter(user=user, widget_type=widget_type).first()


def preferred_language(user: str) -> str | None:
    """The UI language the operator chose (``preferences.lang``), if any."""
    state = (
        WidgetState.objects.filter(user=user, widget_type=WidgetType.PREFERENCES)
        .values_list("state", flat=True)
        .first()
    )
    lang = state.get("lang") if isinstance(state, dict) else None
    return lang if isinstance(lang, str) else None
