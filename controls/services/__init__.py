"""The controls app's ops actions, one module per group: the app's
``ready()`` imports each, which registers its actions. Each is run by the
kernel runner inside its durable transaction; exactly-once rests on
conditional updates that must touch one row (STYLE rule 7), so it holds on
SQLite and PostgreSQL alike."""
