"""Parley store layer."""
