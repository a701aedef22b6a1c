"""The local planner: real optimisation over the rails' snapshot.

``plan(plan_type, snapshot, constraints)`` is pure: no database, no Django;
``snapshot.py`` builds its input from the database. Each plan type is a model
solved by HiGHS (``lp.py``): a transportation LP (routing), the same with value
caps as a MIP (risk), a fixed-charge min-cost flow (float rebalance).
"""
