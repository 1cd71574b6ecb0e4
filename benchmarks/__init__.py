"""Benchmarks: plain scripts, `python -m benchmarks.<name>`."""
