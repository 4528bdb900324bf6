"""Benchmarks, run on demand; each prints its figures."""
