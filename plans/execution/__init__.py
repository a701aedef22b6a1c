"""Plan execution on the Celery workers: each step at most once (DESIGN §8).

**One task per plan, not per step.** A plan's steps are ordered and depend on
one another (a risk plan pauses a bank, then moves its payouts away), so one
task walks them in order: ``plans.tasks.execute_plan_steps(plan_id)``. The
task is safe to run twice, at once or after a crash, because nothing it
decides rests on the message: the step rows do.

**The row decides who runs a step.** A step runs only after a conditional
UPDATE moved it ``pending|blocked → running`` and raised ``attempts``; the
UPDATE must touch one row, so of two tasks that reach the same step (a
redelivery, a retry, beat resuming it) one runs it and the other finds it
taken. On PostgreSQL the executor also holds the plan's advisory lock while it
runs (``locks.py``): a second task finding the plan held retries later instead
of waiting.

**A ``running`` step whose worker died is not re-run blindly.** Its effect runs
through the ops-action runner (``runner.run(action, system_principal
("plan-executor"), fields, idempotency_key="plan:<id>:step:<index>")``), whose
contract (DESIGN §5) is: the key is reserved first, in its own transaction;
the effect, its audit row, its outbox events and the stored response then
commit in *one* transaction. So when the worker dies the key tells exactly what
happened, once the worker's transaction is over:

* no record, or an ``in_flight`` one: the effect did not commit. The in-flight
  reservation is released and the step runs again — for the first time.
* a ``completed`` record: the effect committed. Running the step again makes
  the runner *replay* the stored response instead of acting; the step is
  marked done from it.

"Once the worker's transaction is over" is what the plan's lock proves on
PostgreSQL: whoever gets it knows the last holder's connection is gone, and a
dead connection's transaction is rolled back. A step is claimed again
(``running → running``, attempts + 1) only then, and the previous attempt
fences itself out: it marks its step only where ``attempts`` is still its own.
On SQLite no lock proves a worker dead: a running step is orphaned once its
lease has run out unrenewed (``leases.py``; embedded mode runs one worker).
The reasoning holds while the idempotency record does
(``IDEMPOTENCY_KEY_TTL_HOURS``, 48 h, far beyond any recovery).

**A dead worker's step is taken up by beat, within 2 minutes.** A running
step holds a lease its worker renews from a thread (``leases.py``); the
broker would hand the dead worker's message out again only after its
visibility timeout, which outlasts the longest task. Beat does not wait:
``plans.tasks.take_up_orphaned_steps`` (``takeup.py``) settles a step whose
lease ran out by its idempotency record, through the runbook's audited
``execute_stuck_plan``, and queues the plan again.

**Blocked, not failed.** Before claiming a step the executor asks the controls
(``blockers.py``); a step a freeze or pause forbids moves to ``blocked`` and the
task stops there. Beat (``plans.tasks.resume_blocked_steps``) re-queues the
plan once the control lifts. If the control lands between that check and the
effect, the rails action refuses with ``blocked_by_control`` inside its
transaction; nothing committed, so the stored refusal is forgotten and the
step waits as ``blocked`` too.

Progress (``done``/``total``, each step's status, errors) is kept in
``plan.details`` with an event on the bus per step transition
(``progress.py``); ``molam_ops_plan_executions_total{plan_type,status}`` counts
plans reaching executed, failed or cancelled.
"""
