"""Converting amounts to USD through the rates table (approval thresholds)."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from molam_ops.errors import OpsError
from payouts.models import CurrencyRate

# Defaults for the demo and for a fresh database; operators keep them current.
DEFAULT_RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.08"),
    "XOF": Decimal("0.00165"),
    "XAF": Decimal("0.00165"),
    "NGN": Decimal("0.00065"),
    "GHS": Decimal("0.066"),
    "KES": Decimal("0.0077"),
}


def to_usd(amount: Decimal, currency: str) -> Decimal:
    if currency == "USD":
        return amount
    rate = (
        CurrencyRate.objects.filter(currency=currency)
        .values_list("usd_per_unit", flat=True)
        .first()
    )
    if rate is None:
        raise OpsError(
            "unknown_currency",
            _("No USD rate is known for %(currency)s.") % {"currency": currency},
            status=422,
            fields={"currency": [_("No rate for this currency.")]},
        )
    return (amount * rate).quantize(Decimal("0.01"))
