"""osqueue-core: the queue state machine, the group-commit engine and broker election."""

from __future__ import annotations

from ._election import BrokerElection
from ._engine import CommitInfo, EngineStats, GroupCommitEngine
from ._errors import CorruptStateError
from ._state import ExpiryReport, QueueCounts, QueueStateMachine

__all__ = [
    "BrokerElection",
    "CommitInfo",
    "CorruptStateError",
    "EngineStats",
    "ExpiryReport",
    "GroupCommitEngine",
    "QueueCounts",
    "QueueStateMachine",
]
