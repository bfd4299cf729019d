"""Parley cli layer."""
