"""Deterministic demo data for `seed-demo`, `make run` and the benchmarks."""
