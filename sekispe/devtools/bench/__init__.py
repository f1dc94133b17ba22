"""Benchmarks behind `sekispe bench search|import|matching` (docs/benchmarks.md)."""
