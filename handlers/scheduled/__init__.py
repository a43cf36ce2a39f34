"""Scheduled functions (EventBridge rules)."""
