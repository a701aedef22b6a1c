"""Benchmarks (``make bench``), also a Django app holding the floor endpoints.

The app is installed, and its URLs mounted, only when ``BENCH_ENDPOINTS=1``:
the bare views below exist to give the benchmark a floor measured in the same
server as the real pipeline, never in production.
"""
