"""Exercises and the demo: local multi-node networks and scenario files replayed on them."""
