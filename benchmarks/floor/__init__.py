"""The floors: bare endpoints served next to the product (benchmarks only)."""
