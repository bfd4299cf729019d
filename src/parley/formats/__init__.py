"""Parley formats layer."""
