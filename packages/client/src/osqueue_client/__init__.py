"""Async and sync client for the osqueue broker (Connect, REST, WebSocket)."""
