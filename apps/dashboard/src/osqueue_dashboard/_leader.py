"""The leader broker as the pages show it: its address and the age of its lease heartbeat.

Both come with every stats answer (`broker_address`, `broker_heartbeat`), so the dashboard
learns them from its regular poll without reading queue.json.
"""

from __future__ import annotations

from dataclasses import dataclass

from osqueue_client import QueueStats

from ._format import age, duration


@dataclass(frozen=True, slots=True)
class Leader:
    address: str | None
    heartbeat: int | None  # ms since the epoch; None when unknown

    @classmethod
    def of(cls, stats: QueueStats | None) -> Leader:
        if stats is None:
            return cls(None, None)
        return cls(stats.broker_address or None, stats.broker_heartbeat or None)

    def age_ms(self, now_ms: int) -> int | None:
        return None if self.heartbeat is None else max(0, now_ms - self.heartbeat)

    def age_text(self, now_ms: int) -> str:
        return age(self.heartbeat, now_ms) if self.heartbeat else "unknown"

    def as_json(self, now_ms: int) -> dict[str, str | int | None]:
        age_ms = self.age_ms(now_ms)
        return {
            "address": self.address,
            "heartbeatAgeMs": age_ms,
            "heartbeatAge": "unknown" if age_ms is None else f"{duration(age_ms)} ago",
        }
