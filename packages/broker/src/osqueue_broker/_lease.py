"""Handing the lease back on a graceful stop.

Once the engine has made its last commit, one more CAS write sets `brokerHeartbeat` to 0: a
standby (or this broker restarted under a new id) sees a stale lease and takes over at its next
look, instead of waiting out the heartbeat timeout. The write is made over the engine's last
durable version, so it lands only if nobody else wrote since; a broker that lost leadership
never makes it.
"""

from __future__ import annotations

import logging

from osqueue_core import GroupCommitEngine
from osqueue_types import OsqueueError, decode_state, encode_state

logger = logging.getLogger("osqueue.broker")


async def release_lease(engine: GroupCommitEngine) -> bool:
    """After `engine` stopped: write brokerHeartbeat=0 if it stopped cleanly while leading."""
    if await engine.wait_stopped() is not None:
        return False  # it stopped because leadership was lost (or it stepped down)
    version = engine.version
    if version is None:
        return False
    state = decode_state(engine.state_bytes())
    if state.broker_id != engine.broker_id:
        return False
    state.broker_heartbeat = 0
    state.commit_seq = engine.commit_seq + 1
    try:
        await engine.storage.write(engine.key, encode_state(state), version)
    except OsqueueError as exc:  # a CAS conflict (someone else wrote) or a storage error
        logger.warning("could not release the lease on %s: %s", engine.key, exc)
        return False
    logger.info("released the lease on %s", engine.key)
    return True
