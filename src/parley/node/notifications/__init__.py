"""Notifications: import, lifecycle (alert, updates, cancel) and export."""
