"""The controls app's ops actions, one module per group; importing the package
registers them all. Each is run by the kernel runner inside its durable
transaction; exactly-once rests on conditional updates that must touch one row
(STYLE rule 7), so it holds on SQLite and PostgreSQL alike."""

from controls.services import (  # noqa: F401
    banks,
    expiry,
    flags,
    freezes,
    payouts,
    rails,
    reports,
)
