"""What the local planner reads and what it answers: frozen, Django-free data.

Units, once for the whole package:

* ``fee_percent`` is a fraction (``0.0070`` = 0.70 %) of the payout's amount;
* ``BankSnapshot.fee_fixed`` is **USD per payout** (the demo's 0.15-0.40
  only make sense in a reference currency), converted with ``usd_rates``;
* every figure that adds several currencies up (``total_amount``,
  ``estimated_cost_before/after``, ``max_cost``, ``estimated_savings``) is in
  USD at the snapshot's rates; a step's ``amount`` is in the step's currency.

Money is ``Decimal`` here; the solvers turn it into floats inside and round
their answers back to cents with ``quantize``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, TypedDict

CENT = Decimal("0.01")
ROUTING = "routing_optimization"
FLOAT_REBALANCE = "float_rebalance"
RISK = "risk_mitigation"
PLAN_TYPES = (ROUTING, FLOAT_REBALANCE, RISK)

STATUS_OK = "ok"
STATUS_NOTHING = "nothing_to_improve"
STATUS_INFEASIBLE = "infeasible"


def money(value: float | Decimal | int) -> Decimal:
    """Cents, half up: how every float leaves the solver."""
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _dec(value: Any) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(str(value))


class PlanInputError(ValueError):
    """The snapshot cannot be planned on (a missing rate, a broken record)."""


class ConstraintError(ValueError):
    """Constraints out of range; ``fields`` maps each to its complaints."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        self.fields = fields
        super().__init__(
            "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(fields.items()))
        )


@dataclass(frozen=True)
class BankSnapshot:
    """One bank as the planner sees it."""

    id: str
    name: str
    currencies: tuple[str, ...]
    success_rate: Decimal
    failure_rate: Decimal
    circuit_state: str  # closed | open | half_open
    fee_percent: Decimal
    fee_fixed: Decimal  # USD per payout
    capacity: int  # payouts it can still take in the timeframe
    avg_latency_ms: int = 0
    paused: bool = False
    # a freeze of this bank or a global freeze in force (an old snapshot
    # counted a bank freeze as ``paused``)
    frozen: bool = False
    health: str = "green"  # green | yellow | red, as payouts/health.py rates it

    @property
    def operable(self) -> bool:
        """May it send anything at all (keep what it holds)?"""
        return not self.paused and not self.frozen and self.circuit_state != "open"

    def can_receive(
        self,
        currency: str,
        min_success_rate: Decimal | None,
        *,
        allowed: bool = False,
    ) -> bool:
        """May new payouts of ``currency`` be routed to it? ``allowed``: an
        operator's override lifts the safety rule and ``min_success_rate``
        (never the currency or the capacity)."""
        from plans.planner.safety import bank_refusal

        if self.capacity <= 0:
            return False
        if bank_refusal(self, currency, allowed=allowed) is not None:
            return False
        return (
            allowed or min_success_rate is None or self.success_rate >= min_success_rate
        )


@dataclass(frozen=True)
class PayoutClass:
    """Pending payouts of one bank and currency in one amount bucket.

    ``amount`` is their total; ``amount_min``/``amount_max`` the smallest and
    largest of them (inclusive), so a step can say which payouts it means.
    """

    bank_id: str
    currency: str
    count: int
    amount: Decimal
    amount_min: Decimal | None = None
    amount_max: Decimal | None = None


@dataclass(frozen=True)
class AccountSnapshot:
    """A treasury (float) account: what it holds and what it must cover."""

    id: str
    bank_id: str
    currency: str
    balance: Decimal
    min_float: Decimal
    forecast_outflow: Decimal  # over the plan's timeframe


@dataclass(frozen=True)
class TransferCost:
    """The price of moving money between two accounts (in their currency).

    Pairs not listed follow the default rule (``float_rebalance``): free
    between accounts of one bank, else the sending bank's ``fee_percent`` and
    its USD ``fee_fixed`` converted to the currency.
    """

    from_account: str
    to_account: str
    fee_percent: Decimal
    fee_fixed: Decimal


@dataclass(frozen=True)
class Snapshot:
    """Everything one plan is computed from; ``digest()`` names it."""

    banks: tuple[BankSnapshot, ...] = ()
    payout_classes: tuple[PayoutClass, ...] = ()
    accounts: tuple[AccountSnapshot, ...] = ()
    transfer_costs: tuple[TransferCost, ...] = ()
    usd_rates: Mapping[str, Decimal] = field(default_factory=dict)
    timeframe_hours: int = 24
    taken_at: str = ""

    def usd_rate(self, currency: str) -> Decimal:
        if currency == "USD":
            return Decimal(1)
        rate = self.usd_rates.get(currency)
        if rate is None or rate <= 0:
            raise PlanInputError(f"no USD rate for {currency}")
        return rate

    def bank(self, bank_id: str) -> BankSnapshot | None:
        return next((b for b in self.banks if b.id == bank_id), None)

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (Decimals as strings), what gets stored."""
        return _jsonable(asdict(self))

    def digest(self) -> str:
        text = json.dumps(self.as_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Snapshot:
        """The inverse of ``as_dict``: parses what ``as_dict`` (or a caller
        writing the same shape) produced."""
        try:
            return cls(
                banks=tuple(_build(BankSnapshot, b) for b in data.get("banks", ())),
                payout_classes=tuple(
                    _build(PayoutClass, c) for c in data.get("payout_classes", ())
                ),
                accounts=tuple(
                    _build(AccountSnapshot, a) for a in data.get("accounts", ())
                ),
                transfer_costs=tuple(
                    _build(TransferCost, t) for t in data.get("transfer_costs", ())
                ),
                usd_rates={
                    str(k): _dec(v) for k, v in (data.get("usd_rates") or {}).items()
                },
                timeframe_hours=int(data.get("timeframe_hours", 24)),
                taken_at=str(data.get("taken_at", "")),
            )
        except (KeyError, TypeError, ValueError, InvalidOperation) as exc:
            raise PlanInputError(f"malformed snapshot: {exc!r}") from exc


_DECIMAL_FIELDS = {
    "success_rate",
    "failure_rate",
    "fee_percent",
    "fee_fixed",
    "amount",
    "amount_min",
    "amount_max",
    "balance",
    "min_float",
    "forecast_outflow",
}


def _build(kind: type, raw: Mapping[str, Any]) -> Any:
    values: dict[str, Any] = {}
    for f in fields(kind):
        if f.name not in raw:
            continue  # the dataclass default applies, or the constructor refuses
        value = raw[f.name]
        if f.name in _DECIMAL_FIELDS:
            value = None if value is None else _dec(value)
        elif f.name == "currencies":
            value = tuple(str(c) for c in value)
        elif f.name in ("count", "capacity", "avg_latency_ms"):
            value = int(value)
        elif f.name in ("paused", "frozen"):
            value = bool(value)
        else:
            value = str(value)
        values[f.name] = value
    return kind(**values)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


# payouts/health.py: below YELLOW_MIN_SUCCESS a bank is red, so an omitted
# ``min_success_rate`` keeps new payouts off a bank whose success rate makes it
# red, even before its recorded health catches up.
# The planner stays Django-free, so the figure is repeated here;
# tests/plans/test_planner_safety.py holds the two equal.
DEFAULT_MIN_SUCCESS_RATE = Decimal("0.90")


@dataclass(frozen=True)
class Constraints:
    """What a plan must respect. ``from_params`` validates operator input.

    ``given`` names the constraints the operator set (the others are
    defaults, which ``used()`` says); ``allow_banks`` are the bank ids an
    operator's override lets receive despite the safety rule (``safety.py``).
    """

    max_cost: Decimal | None = None  # USD: total fees after the plan
    # banks below receive nothing new (None: no limit, for direct callers)
    min_success_rate: Decimal | None = DEFAULT_MIN_SUCCESS_RATE
    max_bank_share: Decimal = Decimal("0.5")  # of a currency's pending value
    failure_rate_threshold: Decimal = Decimal("0.2")
    buffer_percent: Decimal = Decimal("0.10")  # over forecast outflow
    # per moved payout, USD: a move must save more than this to be proposed
    min_saving_per_payout: Decimal = Decimal("0.001")
    given: frozenset[str] = frozenset()
    allow_banks: frozenset[str] = frozenset()

    LIMITS = {
        "max_cost": (Decimal(0), Decimal("1e12")),
        "min_success_rate": (Decimal(0), Decimal(1)),
        "max_bank_share": (Decimal("0.01"), Decimal(1)),
        "failure_rate_threshold": (Decimal(0), Decimal(1)),
        "buffer_percent": (Decimal(0), Decimal(10)),
        "min_saving_per_payout": (Decimal(0), Decimal(1000)),
    }

    @classmethod
    def from_params(cls, params: Mapping[str, Any] | None) -> Constraints:
        """Parse ``plan_params.constraints``; unknown keys are refused, so a
        typo does not silently plan without the limit the operator meant."""
        params = dict(params or {})
        errors: dict[str, list[str]] = {}
        values: dict[str, Any] = {}
        for key in sorted(set(params) - set(cls.LIMITS)):
            errors[key] = ["unknown constraint"]
        for key, (low, high) in cls.LIMITS.items():
            raw = params.get(key)
            if raw is None:
                continue
            try:
                # Decimal reads any Unicode digit (Arabic-Indic 100 is 100): ASCII only
                if isinstance(raw, bool) or not str(raw).isascii():
                    raise InvalidOperation
                value = Decimal(str(raw))
                if not value.is_finite():
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                errors[key] = ["must be a number"]
                continue
            if not low <= value <= high:
                errors[key] = [f"must be between {low} and {high}"]
                continue
            values[key] = value
        if errors:
            raise ConstraintError(errors)
        return cls(**values, given=frozenset(values))

    def used(self) -> dict[str, dict[str, Any]]:
        """Every constraint with the value the plan used and whether the
        operator gave it or it is the default: ``details.constraints_used``."""
        return {
            name: {
                "value": None if (v := getattr(self, name)) is None else str(v),
                "default": name not in self.given,
            }
            for name in self.LIMITS
        }


@dataclass(frozen=True)
class PlanStep:
    """One action of a plan, with the fields its ops action takes."""

    action: str
    fields: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        return {"action": self.action, **_jsonable(dict(self.fields))}


class ResultBase(TypedDict, total=False):
    """The fields of a ``PlanResult`` a planner knows before it has an answer."""

    plan_type: str
    solver: str
    estimated_cost_before: Decimal
    timings: Mapping[str, float]


@dataclass(frozen=True)
class PlanResult:
    """What the planner answers. ``status`` is ``ok``, ``nothing_to_improve``
    (empty steps, not an error) or ``infeasible`` (empty steps, ``reason``)."""

    plan_type: str
    status: str
    summary: str
    steps: tuple[PlanStep, ...] = ()
    total_amount: Decimal = Decimal("0.00")  # USD moved
    payout_count: int = 0
    estimated_cost_before: Decimal = Decimal("0.00")  # USD
    estimated_cost_after: Decimal = Decimal("0.00")  # USD
    reason: str = ""
    solver: str = ""
    timings: Mapping[str, float] = field(default_factory=dict)  # milliseconds
    details: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = _jsonable(
            {f.name: getattr(self, f.name) for f in fields(self) if f.name != "steps"}
        )
        out["steps"] = [s.as_dict() for s in self.steps]
        return out


def infeasible(reason: str, **fields: Any) -> PlanResult:
    """An ``infeasible`` answer: no steps, ``reason`` its summary too."""
    return PlanResult(status=STATUS_INFEASIBLE, summary=reason, reason=reason, **fields)


def unmet_reason(missed: list[dict[str, str]]) -> str:
    """The reason of a plan none of whose steps could hold: what it could not
    do (``details.unmet``), each said."""
    return "; ".join(u["message"] for u in missed)
