"""The plans app's ops actions, one module per group; importing the package
registers them all."""

from plans.services import (  # noqa: F401
    encryption,
    execution,
    generation,
    plan_inputs,
    plan_records,
    suggestion_candidates,
    suggestions,
)
