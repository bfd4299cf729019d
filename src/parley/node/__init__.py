"""Parley node layer."""
