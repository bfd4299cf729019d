"""Parley api layer."""
