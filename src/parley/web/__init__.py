"""Parley web layer."""
