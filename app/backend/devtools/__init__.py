"""Helpers for local runs, tests and benchmarks (not shipped in the image)."""
