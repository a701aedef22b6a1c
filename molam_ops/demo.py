"""Demo operators, one per role, for session login in development."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from molam_ops.identity import ROLE_ORDER
from molam_ops.models import OperatorIdentity

DEMO_PASSWORD = "molam-demo"  # noqa: S105 - development only, printed at start
DEMO_OPERATORS = {
    "alice": ["pay_admin"],
    "amadou": ["pay_admin"],
    "bruno": ["finance_ops"],
    "fatou": ["finance_ops"],
    "chloe": ["ops"],
}


def ensure_role_groups() -> None:
    for role in ROLE_ORDER:
        Group.objects.get_or_create(name=role)


def ensure_demo_operators() -> list[str]:
    """Create the demo users once; return the names created this time."""
    ensure_role_groups()
    created = []
    user_model = get_user_model()
    for name, roles in DEMO_OPERATORS.items():
        user, was_created = user_model.objects.get_or_create(
            username=name,
            defaults={"email": f"{name}@demo.molam.test", "is_staff": True},
        )
        if was_created:
            user.set_password(DEMO_PASSWORD)
            user.save()
            user.groups.set(Group.objects.filter(name__in=roles))
            created.append(name)
        # the demo operators are the Molam ID subjects of the same names, so
        # `mint_token --sub alice` and alice's session are one person
        OperatorIdentity.objects.get_or_create(
            user=user, defaults={"molam_subject": name}
        )
    return created
