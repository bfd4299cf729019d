"""Benchmarks of Parley's log foundation: run them all with ``python -m bench.run_all``."""
