"""Names and defaults shared by every osqueue package."""

from __future__ import annotations

QUEUE_STATE_KEY = "queue.json"
DEFAULT_QUEUE = "default"

DEFAULT_HEARTBEAT_TIMEOUT_MS = 30_000
DEFAULT_BROKER_HEARTBEAT_TIMEOUT_MS = 10_000
DEFAULT_BROKER_HEARTBEAT_INTERVAL_MS = 3_000
DEFAULT_MAX_ATTEMPTS = 3
# Most jobs one claim takes, and so most ids one CompleteMany names (one claimed batch).
MAX_CLAIM_LIMIT = 1000

DEFAULT_MAX_PAYLOAD_BYTES = 1024 * 1024
DEFAULT_MAX_REQUEST_BYTES = 16 * 1024 * 1024
# How long an idempotency key keeps returning the first job id. Long enough for any client
# retry through a failover; short because every key is a record in queue.json until then
# (SQS FIFO queues deduplicate over the same five minutes).
DEFAULT_IDEMPOTENCY_RETENTION_MS = 5 * 60 * 1000


def queue_state_key(queue: str = DEFAULT_QUEUE) -> str:
    """Object key of a named queue; the default queue keeps `queue.json` for compatibility."""
    if queue == DEFAULT_QUEUE:
        return QUEUE_STATE_KEY
    if not queue or "/" in queue or queue.startswith("."):
        raise ValueError(f"invalid queue name {queue!r}")
    return f"queues/{queue}.json"
