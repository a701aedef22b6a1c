"""expire_controls: beat closes controls past ``expires_at`` (DESIGN §9).

Reads never wait for this: a control past ``expires_at`` is inactive on every
read at once (``active_q``). Closing it (``enabled = False``) makes the table
say what is in force and leaves the ``system`` audit row that records when
each control lapsed. The row keeps its ``expires_at``, so a closed control
still shows why it ended. Each control closed sends ``control_switched``, so
whoever follows the controls (the suggestions) hears of it too.
"""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from controls.models import TreasuryControl
from controls.selectors import control_expired_list
from controls.signals import control_switched
from molam_ops.actions.context import ActionContext, Outcome
from molam_ops.actions.registry import ops_action


class ExpireControlsInput(serializers.Serializer):
    """No arguments: the sweep closes whatever is due when it runs."""


@ops_action("expire_controls", roles={"system"}, input=ExpireControlsInput, http=False)
def expire_controls(ctx: ActionContext) -> Outcome:
    """Close every control past its expiry (one action, the keys in details)."""
    now = timezone.now()
    closed = []
    for key in control_expired_list(now).values_list("key", flat=True):
        # Conditional: a control renewed or lifted since the SELECT is left
        # alone, and of two sweeps at once only one closes (and reports) it.
        if TreasuryControl.objects.filter(
            key=key, enabled=True, expires_at__lte=now
        ).update(enabled=False, updated_by=ctx.actor_id, updated_at=now):
            closed.append(key)
            control_switched.send(sender=TreasuryControl, key=key, enabled=False)
    return Outcome(
        target={"control_keys": closed},
        details={"closed": len(closed), "keys": closed, "as_of": now.isoformat()},
    )
