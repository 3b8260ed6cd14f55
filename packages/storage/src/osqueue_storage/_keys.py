"""Object-key helpers shared by the backends."""

from __future__ import annotations


def join_prefix(prefix: str, key: str) -> str:
    """Full object name for `key` under `prefix` ("" or "a/b"; slashes at either end are ignored)."""
    prefix = prefix.strip("/")
    return f"{prefix}/{key}" if prefix else key


def check_key(key: str) -> None:
    """Reject keys that would escape a directory or collide with the file backend's own files."""
    parts = key.split("/")
    if not key or any(not part or part.startswith(".") for part in parts):
        raise ValueError(
            f"invalid storage key {key!r}: use non-empty '/'-separated names not starting with '.'"
        )
