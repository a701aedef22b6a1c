"""Benchmarks, outside the product: ``make bench`` and ``make bench-kpis``.

Each benchmark serves the app as production does, with its own settings module
(:mod:`benchmarks.settings`: the product's settings plus the floor app), and
prints its figures against floors measured in the same server. The shared
setup (database, keys, server, wrk, report) is :mod:`benchmarks.harness`.
"""
