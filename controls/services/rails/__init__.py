"""reroute_payouts / transfer_funds: the levers SIRA plans pull on the rails.

``guards`` holds the checks both share; ``reroute`` and ``transfer`` each hold
one action with its input and its helpers (the app's ``ready()`` imports
them, which registers the actions).

Both are ops actions like any other (run by the kernel runner, audited,
idempotent); ``pay_admin`` may call them over HTTP and the plan executor calls
them as a ``system`` principal, one step at a time. A step's signatures were
gathered for its plan (``execute-plan`` consumes the plan's approval token),
so a system caller is never asked for them again.

Controls come first (DESIGN §8, §9): a global freeze stops both; a freeze or
pause of the bank that would receive payouts or funds stops them, and so does
a freeze of the bank they would leave (a freeze holds a bank's payouts where
they are). A pause of the source does not: moving exposure off a paused bank is
what a risk plan does. The refusal is 409 ``blocked_by_control``, which the plan
executor turns into a ``blocked`` step that resumes when the control lifts.

Every change is a conditional UPDATE inside the runner's transaction (STYLE
rule 7): a payout moves only while it is still pending and undisputed at its
source bank, and a debit only while the balance covers it.
"""
