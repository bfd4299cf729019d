"""Parley: a federated, verifiable notification and crisis-communication network."""

__version__ = "0.1.0"
