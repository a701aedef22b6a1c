"""From the solver's flows to plan steps: each group's payouts that leave a
bank, paired with the banks that take them, summed into one
``reroute_payouts`` step per (from bank, to bank, currency)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

import numpy as np

from plans.planner.assignment import Model
from plans.planner.types import PlanStep, money


@dataclass
class Moves:
    """The flows as moves from the bank a payout waits at to its new bank."""

    steps: list[PlanStep]
    count: int
    value_usd: Decimal
    savings_usd: Decimal
    by_currency: dict[str, dict[str, str]]


def moves(model: Model, flows: np.ndarray) -> Moves:
    """Pair each group's leavers with its arrivals (north-west corner: within a
    group every pairing costs the same) and add up one step per
    (from bank, to bank, currency)."""
    snapshot = model.snapshot
    per_group_in: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    per_group_stay: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for arc, flow in zip(model.arcs, flows, strict=True):
        if flow > 0:
            target = per_group_stay if arc.stay else per_group_in
            target[arc.group][arc.bank] += int(flow)
    totals: dict[tuple[int, int, str], dict[str, Decimal | int]] = {}
    for g in range(len(model.groups)):
        leavers = _leavers(model, g, per_group_stay[g])
        arrivals = dict(per_group_in[g])
        for bank in list(arrivals):  # a bank taking back its own: a stay
            for leaver in leavers:
                if leaver[0] == bank and arrivals[bank] and leaver[2]:
                    kept = min(arrivals[bank], leaver[2])
                    arrivals[bank] -= kept
                    leaver[2] -= kept
        queue = [[b, n] for b, n in sorted(arrivals.items()) if n > 0]
        for origin, cls_index, left in leavers:
            while left > 0 and queue:
                dest, room = queue[0]
                n = min(left, room)
                _add_move(model, totals, origin, dest, cls_index, n)
                left -= n
                queue[0][1] -= n
                if queue[0][1] == 0:
                    queue.pop(0)
    steps, count, value, savings = [], 0, Decimal(0), Decimal(0)
    by_currency: dict[str, dict[str, Decimal]] = defaultdict(
        lambda: defaultdict(Decimal)
    )
    for (origin, dest, currency), t in sorted(
        totals.items(), key=lambda kv: (kv[0][2], kv[0][0], kv[0][1])
    ):
        step_saving = money(t["savings"])
        steps.append(
            PlanStep(
                "reroute_payouts",
                {
                    "from_bank_id": snapshot.banks[origin].id,
                    "to_bank_id": snapshot.banks[dest].id,
                    "currency": currency,
                    "count": int(t["count"]),
                    "amount": money(t["amount"]),
                    "amount_min": money(t["amount_min"]),
                    "amount_max": money(t["amount_max"]),
                    "estimated_savings": step_saving,
                },
            )
        )
        count += int(t["count"])
        value += Decimal(str(t["amount_usd"]))
        savings += Decimal(str(t["savings"]))
        by_currency[currency]["count"] += int(t["count"])
        by_currency[currency]["amount"] += money(t["amount"])
    return Moves(
        steps,
        count,
        money(value),
        money(savings),
        {c: {k: str(v) for k, v in d.items()} for c, d in sorted(by_currency.items())},
    )


def _leavers(model: Model, g: int, stays: dict[int, int]) -> list[list[int]]:
    """[origin bank, class index, payouts leaving] for the members of group g."""
    out: list[list[int]] = []
    kept = dict(stays)
    for i in model.groups[g].members:
        cls = model.snapshot.payout_classes[i]
        origin = model.bank_index.get(cls.bank_id, -1)
        stay = min(kept.get(origin, 0), cls.count)
        kept[origin] = kept.get(origin, 0) - stay
        if cls.count - stay > 0:
            out.append([origin, i, cls.count - stay])
    return out


def _add_move(
    model: Model,
    totals: dict[tuple[int, int, str], dict[str, Decimal | int]],
    origin: int,
    dest: int,
    cls_index: int,
    n: int,
) -> None:
    cls = model.snapshot.payout_classes[cls_index]
    avg = float(cls.amount) / cls.count
    rate = float(model.snapshot.usd_rate(cls.currency))
    saving = (
        (model.fee(origin, avg, rate) if origin >= 0 else 0.0)
        - model.fee(dest, avg, rate)
    ) * n
    low = cls.amount_min if cls.amount_min is not None else Decimal(str(avg))
    high = cls.amount_max if cls.amount_max is not None else Decimal(str(avg))
    key = (origin, dest, cls.currency)
    t = totals.setdefault(
        key,
        {
            "count": 0,
            "amount": Decimal(0),
            "amount_usd": Decimal(0),
            "savings": Decimal(0),
            "amount_min": low,
            "amount_max": high,
        },
    )
    # the class's own payouts move pro rata: n of its count, at its average
    share = cls.amount * n / cls.count if n != cls.count else cls.amount
    t["count"] = int(t["count"]) + n
    t["amount"] = Decimal(t["amount"]) + share
    t["amount_usd"] = Decimal(t["amount_usd"]) + share * Decimal(str(rate))
    t["savings"] = Decimal(t["savings"]) + Decimal(str(saving))
    t["amount_min"] = min(Decimal(t["amount_min"]), low)
    t["amount_max"] = max(Decimal(t["amount_max"]), high)
