"""Throughput benchmarks for ``make bench``: figures are printed, never asserted."""
